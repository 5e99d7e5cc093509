// Fuzz target: any bytes opened as a .zip (whole, and as archive.zip#entry), as a .gz and as a
// plain file through open_byte_source(), and read to the end directly and through line_reader,
// must give bytes or a failure that says why, never a crash, a hang or an out-of-bounds read (run
// it under ASan). A plain file reads back exactly; every line keeps the two guarantees the CSV
// parsers rely on (a terminator that is not part of a number, 8 readable bytes after it). Driven
// like kline_csv_fuzz.cpp: libFuzzer with clang, the seeded mutation driver in the test suite.
//
// The source is chosen by the file name, so the input is written to a file in a folder of its
// own under /tmp (removed at exit) that in.zip, in.csv.gz and in.csv link to.
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cats/util/byte_source.hpp"
#include "fuzz_common.hpp"

namespace {

namespace fs = std::filesystem;

constexpr uint64_t max_output = 64u << 20;  // a small input may still inflate a lot

// The folder, made on first use, with the links to the input file in it.
const fs::path& work_dir() {
  return cats::fuzz::work_dir("cats-byte-source-fuzz", [](const fs::path& dir) {
    for (const char* link : {"in.zip", "in.csv.gz", "in.csv"})
      if (symlink("input.bin", (dir / link).c_str()) != 0) return false;
    return true;
  });
}

bool write_file(const fs::path& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

// Reads `path` to its end (or max_output) in reads of changing sizes; the bytes, or nothing after
// a failure, which must come with its reason.
std::unique_ptr<std::string> read_all(const std::string& path) {
  std::string error;
  const std::unique_ptr<cats::byte_source> src = cats::open_byte_source(path, error);
  if (!src) {
    if (error.empty()) __builtin_trap();  // "Null with `error` set"
    return nullptr;
  }
  auto out = std::make_unique<std::string>();
  static constexpr size_t sizes[] = {1, 7, 4096, 65536, 13};
  std::vector<char> buf(65536);
  for (size_t i = 0; out->size() < max_output; ++i) {
    const size_t n = sizes[i % (sizeof sizes / sizeof sizes[0])];
    const ptrdiff_t got = src->read(buf.data(), n);
    if (got < 0) {
      if (got != -1 || src->error().empty()) __builtin_trap();  // -1, and error() says why
      return nullptr;
    }
    if (static_cast<size_t>(got) > n) __builtin_trap();
    if (got == 0) break;
    out->append(buf.data(), static_cast<size_t>(got));
  }
  return out;
}

// Splits `path` into lines with line_reader and checks what the parsers rely on for each.
void read_lines(const std::string& path, size_t buffer_size) {
  cats::line_reader r;
  std::string error;
  if (!r.open(path, buffer_size, error)) {
    if (error.empty()) __builtin_trap();
    return;
  }
  const char* b = nullptr;
  const char* e = nullptr;
  uint64_t bytes = 0, lines = 0;
  cats::line_reader::status st;
  while ((st = r.next(b, e, error)) == cats::line_reader::status::line) {
    const size_t len = static_cast<size_t>(e - b);
    // A line is at most the buffer, holds no newline and ends at "\n", "\r" or the sentinel "\n".
    if (e < b || len > buffer_size || std::memchr(b, '\n', len) != nullptr ||
        (*e != '\n' && *e != '\r') || r.line_number() != ++lines)
      __builtin_trap();
    // "at least 8 readable bytes follow it": ASan checks these reads.
    volatile char sink = 0;
    for (int i = 1; i <= 8; ++i) sink = static_cast<char>(sink ^ e[i]);
    bytes += len + 1;
    if (bytes > max_output) return;
  }
  if (st == cats::line_reader::status::error && error.empty()) __builtin_trap();
}

// ---- seeds --------------------------------------------------------------------------------------

void put(std::string& s, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s += static_cast<char>(v >> (8 * i));
}

uint32_t crc_of(const std::string& s) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

// zlib's deflate: window_bits 15 + 16 writes a gzip member (with `name` in its header when given),
// -15 a raw deflate stream as a zip entry holds it.
std::string deflate_text(const std::string& in, int window_bits, int level, const char* name) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  gz_header head{};
  std::string file_name = name != nullptr ? name : "";
  if (name != nullptr) {
    head.name = reinterpret_cast<Bytef*>(file_name.data());
    head.time = 1'706'745'600;
    head.os = 3;  // Unix
    deflateSetHeader(&z, &head);
  }
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? z.total_out : 0);
  deflateEnd(&z);
  return out;
}

struct zip_entry {
  std::string name;
  std::string data;  // uncompressed; empty for a folder ("dir/")
  bool deflated;
};

// A plain zip archive: each entry's local header and data, the central directory, the end
// record (no data descriptors, no zip64).
std::string make_zip(const std::vector<zip_entry>& entries, const std::string& comment) {
  std::string out, central;
  constexpr uint16_t dos_time = 12 << 11, dos_date = ((2024 - 1980) << 9) | (2 << 5) | 1;
  for (const zip_entry& e : entries) {
    const std::string body = e.deflated ? deflate_text(e.data, -15, 6, nullptr) : e.data;
    const uint32_t crc = crc_of(e.data);
    const uint16_t method = e.deflated ? 8 : 0;
    const size_t offset = out.size();
    put(out, 0x04034b50, 4);
    put(out, 20, 2);  // version needed
    put(out, 0, 2);   // flags
    put(out, method, 2);
    put(out, dos_time, 2);
    put(out, dos_date, 2);
    put(out, crc, 4);
    put(out, body.size(), 4);
    put(out, e.data.size(), 4);
    put(out, e.name.size(), 2);
    put(out, 0, 2);  // extra
    out += e.name;
    out += body;
    put(central, 0x02014b50, 4);
    put(central, 0x031E, 2);  // made by: Unix, 3.0
    put(central, 20, 2);
    put(central, 0, 2);
    put(central, method, 2);
    put(central, dos_time, 2);
    put(central, dos_date, 2);
    put(central, crc, 4);
    put(central, body.size(), 4);
    put(central, e.data.size(), 4);
    put(central, e.name.size(), 2);
    put(central, 0, 2);  // extra
    put(central, 0, 2);  // comment
    put(central, 0, 2);  // disk
    put(central, 0, 2);  // internal attributes
    put(central, (e.name.back() == '/' ? 040755u : 0100644u) << 16, 4);
    put(central, offset, 4);
    central += e.name;
  }
  const size_t central_offset = out.size();
  out += central;
  put(out, 0x06054b50, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, entries.size(), 2);
  put(out, entries.size(), 2);
  put(out, central.size(), 4);
  put(out, central_offset, 4);
  put(out, comment.size(), 2);
  out += comment;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& dir = work_dir();
  if (dir.empty() || !write_file(dir / "input.bin", data, size)) return 0;
  const std::string zip = (dir / "in.zip").string(), gz = (dir / "in.csv.gz").string(),
                    plain = (dir / "in.csv").string();
  read_all(zip);
  read_all(zip + "#a.csv");
  read_all(gz);
  // A plain file reads back as it is, and its size is known.
  const std::unique_ptr<std::string> bytes = read_all(plain);
  if (!bytes || bytes->size() != size || (size > 0 && std::memcmp(bytes->data(), data, size) != 0))
    __builtin_trap();
  std::string error;
  const auto src = cats::open_byte_source(plain, error);
  if (!src || src->size() != size) __builtin_trap();
  for (const std::string& path : {zip, gz, plain}) read_lines(path, 256);
  return 0;
}

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp): a few kline
// rows as a gzip file (one or two members) or as a zip archive (stored or deflated; one file, or
// a folder and a file, or two files one of which is "a.csv").
extern const char* const fuzz_target_name = "byte_source_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  std::string text;
  int64_t t = 1'704'067'200'000 + static_cast<int64_t>(next(rng) % 1000) * 60'000;
  const int rows = 1 + static_cast<int>(next(rng) % 30);
  for (int i = 0; i < rows; ++i, t += 60'000) {
    text += std::to_string(t) + ",42283.58000000,42298.62000000,42261.02000000," +
            std::to_string(42'000 + next(rng) % 1000) + ".5," +
            std::to_string(next(rng) % 100'000) + ".82173," + std::to_string(t + 59'999) +
            ",41591658.45,1591,18.56,785074.54,0" + (next(rng) % 6 == 0 ? "\r\n" : "\n");
  }
  const int level = static_cast<int>(next(rng) % 10);
  if (next(rng) % 2 == 0) {  // gzip
    const bool named = next(rng) % 2 == 0;
    std::string out =
        deflate_text(text, 15 + 16, level, named ? "BTCUSDT-1m-2024-01.csv" : nullptr);
    if (next(rng) % 5 == 0) out += deflate_text("1,2,3\n", 15 + 16, level, nullptr);  // a member
    return out;
  }
  std::vector<zip_entry> entries;
  const uint64_t shape = next(rng) % 4;
  if (shape == 1) entries.push_back({"data/", "", false});
  entries.push_back({shape == 3 || next(rng) % 2 == 0 ? "a.csv" : "data/BTCUSDT-1m-2024-01.csv",
                     text, next(rng) % 3 != 0});
  if (shape == 3) entries.push_back({"b/agg.csv", "1,2,3\n", next(rng) % 2 == 0});
  return make_zip(entries, next(rng) % 4 == 0 ? "made by byte_source_fuzz" : "");
}
