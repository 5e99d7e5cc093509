#include "cats/util/byte_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cerrno>
#include <climits>
#include <vector>

namespace cats {

byte_source::~byte_source() = default;

namespace {

// Parsing a file sequentially: tell the kernel to read ahead aggressively.
void advise_sequential([[maybe_unused]] int fd) {
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

int open_file(const std::string& file, std::string& error) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) error = file + ": cannot open: " + std::strerror(errno);
  return fd;
}

bool ends_with_ci(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = s[s.size() - n + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

class file_source final : public byte_source {
 public:
  file_source(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) size_ = static_cast<uint64_t>(st.st_size);
  }
  ~file_source() override { ::close(fd_); }
  uint64_t size() const noexcept override { return size_; }
  ptrdiff_t read(char* buf, size_t n) override {
    for (;;) {
      const ssize_t got = ::read(fd_, buf, n);
      if (got >= 0) return got;
      if (errno == EINTR) continue;
      error_ = path_ + ": read failed: " + std::strerror(errno);
      return -1;
    }
  }
  const std::string& error() const override { return error_; }

 private:
  int fd_;
  std::string path_;
  std::string error_;
  uint64_t size_ = 0;
};

class gzip_source final : public byte_source {
 public:
  gzip_source(gzFile gz, std::string path) : gz_(gz), path_(std::move(path)) {}
  ~gzip_source() override { gzclose_r(gz_); }
  ptrdiff_t read(char* buf, size_t n) override {
    const unsigned ask = n > static_cast<size_t>(INT_MAX) ? INT_MAX : static_cast<unsigned>(n);
    const int got = gzread(gz_, buf, ask);
    if (first_ && got > 0 && gzdirect(gz_) != 0) {
      // zlib passes non-gzip input through unchanged; a .gz file that is not one is a mistake.
      error_ = path_ + ": not a gzip file";
      return -1;
    }
    first_ = false;
    int code = Z_OK;
    const char* what = gzerror(gz_, &code);
    // zlib names the stream "<fd:N>" in its messages; the path goes in front instead.
    if (const char* sep = std::strstr(what, ": ");
        sep != nullptr && std::strncmp(what, "<fd:", 4) == 0)
      what = sep + 2;
    if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      error_ = path_ + ": damaged or truncated gzip data: " +
               (code == Z_ERRNO ? std::strerror(errno) : what);
      return -1;
    }
    return got;
  }
  const std::string& error() const override { return error_; }

 private:
  gzFile gz_;
  std::string path_;
  std::string error_;
  bool first_ = true;
};

std::string zip_message(int code) {
  switch (code) {
    case ZIP_ER_NOZIP:
      return "not a zip archive";
    case ZIP_ER_INCONS:
      return "damaged zip archive (inconsistent directory)";
    case ZIP_ER_CRC:
      return "CRC mismatch (the archive is damaged)";
    case ZIP_ER_EOF:
      return "truncated (premature end of file)";
    case ZIP_ER_ZLIB:
    case ZIP_ER_COMPRESSED_DATA:
      return "damaged compressed data";
    case ZIP_ER_COMPNOTSUPP:
      return "compression method not supported";
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_NOPASSWD:
    case ZIP_ER_WRONGPASSWD:
      return "encrypted entries are not supported";
    case ZIP_ER_MULTIDISK:
      return "multi-disk archives are not supported";
    default:
      break;
  }
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string s = zip_error_strerror(&e);
  zip_error_fini(&e);
  return s;
}

std::string zip_message(const zip_error_t* e) {
  const int code = zip_error_code_zip(e);
  if (zip_error_system_type(e) == ZIP_ET_SYS && zip_error_code_system(e) != 0)
    return zip_message(code) + ": " + std::strerror(zip_error_code_system(e));
  return zip_message(code);
}

// Streams one entry: zip_fread inflates into the caller's buffer as it goes, and libzip checks
// the entry's CRC when the end is reached.
class zip_source final : public byte_source {
 public:
  zip_source(zip_t* za, zip_file_t* zf, std::string prefix, uint64_t size)
      : za_(za), zf_(zf), prefix_(std::move(prefix)), size_(size) {}
  uint64_t size() const noexcept override { return size_; }
  ~zip_source() override {
    zip_fclose(zf_);
    zip_discard(za_);
  }
  ptrdiff_t read(char* buf, size_t n) override {
    const zip_int64_t got = zip_fread(zf_, buf, n);
    if (got >= 0) return static_cast<ptrdiff_t>(got);
    error_ = prefix_ + zip_message(zip_file_get_error(zf_));
    return -1;
  }
  const std::string& error() const override { return error_; }

 private:
  zip_t* za_;
  zip_file_t* zf_;
  std::string prefix_;  ///< "archive.zip: entry name.csv: "
  std::string error_;
  uint64_t size_;
};

std::unique_ptr<byte_source> open_zip(const std::string& archive, const std::string* entry,
                                      std::string& error) {
  const int fd = open_file(archive, error);
  if (fd < 0) return nullptr;
  advise_sequential(fd);
  int code = 0;
  zip_t* za = zip_fdopen(fd, ZIP_RDONLY, &code);  // owns fd from here on success
  if (za == nullptr) {
    ::close(fd);
    error = archive + ": " + zip_message(code);
    return nullptr;
  }
  const zip_int64_t count = zip_get_num_entries(za, 0);
  std::vector<zip_uint64_t> files;  // entries that are files, not folders
  std::string names;
  zip_uint64_t pick = 0;
  bool found = false;
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(za, static_cast<zip_uint64_t>(i), 0);
    if (name == nullptr) continue;
    const size_t len = std::strlen(name);
    if (len == 0 || name[len - 1] == '/') continue;
    files.push_back(static_cast<zip_uint64_t>(i));
    if (!names.empty()) names += ", ";
    names += name;
    if (entry != nullptr && !found && *entry == name) {
      pick = static_cast<zip_uint64_t>(i);
      found = true;
    }
  }
  auto fail = [&](std::string msg) -> std::unique_ptr<byte_source> {
    error = std::move(msg);
    zip_discard(za);
    return nullptr;
  };
  if (entry != nullptr) {
    if (!found)
      return fail(archive + ": no entry '" + *entry +
                  "' (entries: " + (names.empty() ? std::string("none") : names) + ")");
  } else if (files.empty()) {
    return fail(archive + ": the zip archive holds no file");
  } else if (files.size() > 1) {
    return fail(archive + ": holds " + std::to_string(files.size()) + " entries (" + names +
                "); name one as " + archive + "#entry");
  } else {
    pick = files[0];
  }
  const std::string name = zip_get_name(za, pick, 0);
  zip_file_t* zf = zip_fopen_index(za, pick, 0);
  if (zf == nullptr)
    return fail(archive + ": entry " + name + ": " + zip_message(zip_get_error(za)));
  zip_stat_t st;
  zip_stat_init(&st);
  const uint64_t size =
      zip_stat_index(za, pick, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) != 0 ? st.size : 0;
  return std::make_unique<zip_source>(za, zf, archive + ": entry " + name + ": ", size);
}

// "archive.zip#entry.csv": the last ".zip#" splits it, so entry names may contain '#'. The
// position of that '#', or npos.
size_t zip_entry_split(const std::string& path) {
  for (size_t at = path.size(); at != std::string::npos && at > 0;) {
    at = path.rfind('#', at - 1);
    if (at == std::string::npos) break;
    if (ends_with_ci(path.substr(0, at), ".zip")) return at;
  }
  return std::string::npos;
}

}  // namespace

bool compressed_path(const std::string& path) {
  return ends_with_ci(path, ".zip") || ends_with_ci(path, ".gz") ||
         zip_entry_split(path) != std::string::npos;
}

std::unique_ptr<byte_source> open_byte_source(const std::string& path, std::string& error) {
  if (ends_with_ci(path, ".zip")) return open_zip(path, nullptr, error);
  if (const size_t at = zip_entry_split(path); at != std::string::npos) {
    const std::string entry = path.substr(at + 1);
    return open_zip(path.substr(0, at), &entry, error);
  }
  const int fd = open_file(path, error);
  if (fd < 0) return nullptr;
  advise_sequential(fd);
  if (ends_with_ci(path, ".gz")) {
    gzFile gz = gzdopen(fd, "rb");
    if (gz == nullptr) {
      ::close(fd);
      error = path + ": cannot open: out of memory";
      return nullptr;
    }
    gzbuffer(gz, 1u << 17);
    return std::make_unique<gzip_source>(gz, path);
  }
  return std::make_unique<file_source>(fd, path);
}

// ---- line_reader -----------------------------------------------------------------------------

namespace {
// Room after the data for the sentinel newline and the parsers' 8-byte loads.
constexpr size_t padding = 64;
}  // namespace

bool line_reader::open(const std::string& path, size_t buffer_size, std::string& error) {
  path_ = path;
  src_ = open_byte_source(path, error);
  if (!src_) return false;
  size_ = buffer_size;
  buf_ = std::make_unique<char[]>(size_ + padding);  // zero-filled
  buf_[0] = '\n';
  pos_ = len_ = 0;
  eof_ = false;
  line_ = 0;
  consumed_ = 0;
  return true;
}

bool line_reader::refill(std::string& error) {
  if (pos_ == 0 && len_ == size_) {
    error = path_ + ":" + std::to_string(line_ + 1) + ": line longer than " +
            std::to_string(size_) + " bytes";
    return false;
  }
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
  }
  while (len_ < size_) {
    const ptrdiff_t n = src_->read(buf_.get() + len_, size_ - len_);
    if (n < 0) {
      error = src_->error();
      return false;
    }
    if (n == 0) {
      eof_ = true;
      break;
    }
    len_ += static_cast<size_t>(n);
    consumed_ += static_cast<uint64_t>(n);
  }
  buf_[len_] = '\n';
  return true;
}

}  // namespace cats
