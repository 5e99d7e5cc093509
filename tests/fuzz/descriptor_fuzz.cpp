// Fuzz target: the plugin loader's descriptor checks (plugin_library::check_descriptor), the first
// thing the engine runs on what a plugin's entry point hands it. The input decides every field of
// a descriptor: its declared size, the ABI numbers, which functions are missing, the strings and
// their declared lengths (including corrupt, huge ones) and the parameter table (count, stride,
// entries). The descriptor is built in a heap block of exactly its declared size, and every string
// and the table in blocks of exactly what they declare, so ASan reports any read beyond what a
// plugin states. Accepted descriptors must keep the loader's promises (required functions, a
// name, bounded strings, every parameter named and typed, fields beyond the declared size zero);
// refusals must say why. Driven like kline_csv_fuzz.cpp: libFuzzer with clang, the seeded
// mutation driver in the test suite.
#include <cats/sdk.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cats/plugin/loader.hpp"
#include "fuzz_common.hpp"

namespace {

using cats::fuzz::require;

// Reads the input front to back; past its end every value is 0.
class input {
 public:
  input(const uint8_t* data, size_t size) : p_(data), left_(size) {}
  template <class T>
  T take() {
    T v{};
    const size_t n = std::min(sizeof(T), left_);
    std::memcpy(&v, p_, n);
    p_ += n;
    left_ -= n;
    return v;
  }
  std::string bytes(size_t n) {
    n = std::min(n, left_);
    std::string s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    left_ -= n;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t left_;
};

// The blocks the descriptor points into, each exactly as long as declared.
struct arena {
  std::vector<std::unique_ptr<char[]>> blocks;
  char* block(size_t n) {
    blocks.push_back(std::make_unique<char[]>(std::max<size_t>(n, 1)));
    return blocks.back().get();
  }
};

constexpr uint64_t limit_unchecked = 4096;  // the longest string the harness backs with memory

// A string as a plugin might declare it: mode 0 is a real string of the input's bytes, 1 a null
// pointer with a length, 2 a corrupt length far beyond what is there (backed by nothing: the
// loader must refuse it unread), 3 empty.
cats_str_t make_string(input& in, arena& a) {
  const auto mode = in.take<uint8_t>() % 4;
  if (mode == 1) return {nullptr, in.take<uint16_t>()};
  if (mode == 2) {
    static const char one = 'x';
    return {&one, limit_unchecked + 1 + in.take<uint32_t>()};
  }
  if (mode == 3) return {"", 0};
  const size_t n = in.take<uint16_t>() % (limit_unchecked + 1);
  const std::string text = in.bytes(n);
  char* p = a.block(n);
  std::memset(p, 'a', n);
  std::memcpy(p, text.data(), text.size());
  return {p, n};
}

cats_status_t dummy_create(const cats_host_api_t*, cats_host_t*, const cats_params_t*,
                           cats_strategy_t**, char*, uint32_t) {
  return CATS_E_FAILED;
}
void dummy_destroy(cats_strategy_t*) {}
cats_status_t dummy_event(cats_strategy_t*, const cats_event_t*) {
  return CATS_OK;
}
cats_str_t dummy_error(cats_strategy_t*) {
  return {"", 0};
}

// The parameter table: `count` entries of `stride` bytes, each entry's known fields (as much of
// them as fit the stride) set from the input.
const cats_param_spec_t* make_params(input& in, arena& a, uint32_t count, uint32_t stride) {
  const uint64_t bytes = uint64_t{count} * stride;
  if (count > 2048 || stride > 8192 || bytes > (8u << 20)) {
    static const cats_param_spec_t nothing{};
    return &nothing;  // declared far beyond this: the loader must refuse it unread
  }
  char* table = a.block(static_cast<size_t>(bytes));
  std::memset(table, 0, static_cast<size_t>(bytes));
  for (uint32_t i = 0; i < count; ++i) {
    cats_param_spec_t s{};
    s.struct_size = stride;
    s.type = in.take<int8_t>();
    s.name = make_string(in, a);
    s.default_value = make_string(in, a);
    s.description = make_string(in, a);
    std::memcpy(table + static_cast<size_t>(i) * stride, &s, std::min<size_t>(stride, sizeof s));
  }
  return reinterpret_cast<const cats_param_spec_t*>(table);
}

bool bounded(cats_str_t s, uint64_t limit) {
  return s.data == nullptr || s.size <= limit;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  input in(data, size);
  arena a;
  cats_strategy_descriptor_t d{};
  d.struct_size = in.take<uint32_t>();
  const auto abi = in.take<uint8_t>();
  d.abi_major = (abi & 1) != 0 ? in.take<uint32_t>() : CATS_ABI_MAJOR;
  d.abi_minor = (abi & 2) != 0 ? in.take<uint32_t>() : (abi >> 2) % (CATS_ABI_MINOR + 2);
  const auto missing = in.take<uint8_t>();
  d.create = (missing & 1) != 0 ? nullptr : dummy_create;
  d.destroy = (missing & 2) != 0 ? nullptr : dummy_destroy;
  d.on_event = (missing & 4) != 0 ? nullptr : dummy_event;
  d.last_error = (missing & 8) != 0 ? nullptr : dummy_error;
  d.name = make_string(in, a);
  d.version = make_string(in, a);
  d.description = make_string(in, a);
  d.param_count = in.take<uint16_t>();
  if ((d.param_count & 0x8000) != 0) d.param_count = in.take<uint32_t>();
  d.param_spec_size = in.take<uint16_t>();
  d.params = (missing & 16) != 0 ? nullptr : make_params(in, a, d.param_count, d.param_spec_size);

  // The descriptor in a block of exactly its declared size (at least its size field): reading
  // beyond what the plugin declared is an ASan report.
  const size_t declared = std::min<size_t>(d.struct_size, sizeof d + 64);
  const size_t held = std::max<size_t>(declared, sizeof d.struct_size);
  char* block = a.block(held);
  std::memset(block, 0xA5, held);
  std::memcpy(block, &d, std::min(held, sizeof d));
  const auto* placed = reinterpret_cast<const cats_strategy_descriptor_t*>(block);

  cats_strategy_descriptor_t out;
  std::vector<cats::plugin_library::param_info> params;
  const std::string why = cats::plugin_library::check_descriptor(*placed, out, params);
  if (!why.empty()) {
    require(params.empty());
    return 0;
  }
  // Accepted: what the loader promises the rest of the engine.
  require(d.struct_size >= offsetof(cats_strategy_descriptor_t, last_error) + sizeof(void*));
  require(out.abi_major == CATS_ABI_MAJOR && out.abi_minor <= CATS_ABI_MINOR);
  require(out.create != nullptr && out.destroy != nullptr && out.on_event != nullptr &&
          out.last_error != nullptr);
  require(out.name.data != nullptr && out.name.size > 0 && out.name.size <= 256);
  require(bounded(out.version, 256) && bounded(out.description, 4096));
  require(params.size() == out.param_count && params.size() <= 1024);
  for (const auto& p : params)
    require(!p.name.empty() && p.name.size() <= 256 && p.type >= CATS_PARAM_BOOL &&
            p.type <= CATS_PARAM_STRING && p.default_value.size() <= 4096 &&
            p.description.size() <= 4096);
  // Fields the plugin did not declare are zero in the host's copy, never the harness's 0xA5.
  const auto* copy = reinterpret_cast<const unsigned char*>(&out);
  for (size_t i = std::min<size_t>(d.struct_size, sizeof out); i < sizeof out; ++i)
    require(copy[i] == 0);
  return 0;
}

// ---- seeds
// ---------------------------------------------------------------------------------------

extern const char* const fuzz_target_name = "descriptor";

namespace {
void put_string(std::string& s, uint64_t& rng, uint64_t (*next)(uint64_t&), const char* text) {
  const bool real = next(rng) % 8 != 0;
  s += static_cast<char>(real ? 0 : static_cast<char>(next(rng) % 4));
  const auto n = static_cast<uint16_t>(std::strlen(text));
  s.append(reinterpret_cast<const char*>(&n), 2);
  s += text;
}
}  // namespace

// A well-formed descriptor (the size this SDK writes, ABI 1.x, every function, a name, version,
// description and 0-5 parameters), now and then with one field off.
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  std::string s;
  auto put = [&](auto v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(static_cast<uint32_t>(next(rng) % 16 == 0 ? next(rng) % 200
                                                : sizeof(cats_strategy_descriptor_t)));
  put(static_cast<uint8_t>((next(rng) % (CATS_ABI_MINOR + 1)) << 2));
  put(static_cast<uint8_t>(next(rng) % 12 == 0 ? 1u << (next(rng) % 5) : 0u));
  put_string(s, rng, next, "ma_crossover");
  put_string(s, rng, next, "1.2.0");
  put_string(s, rng, next, "moving-average crossover");
  const auto count = static_cast<uint16_t>(next(rng) % 6);
  put(count);
  put(static_cast<uint16_t>(sizeof(cats_param_spec_t) + (next(rng) % 4 == 0 ? 16 : 0)));
  static const char* const names[] = {"fast", "slow", "fraction", "symbol", "allow_short"};
  for (uint16_t i = 0; i < count; ++i) {
    put(static_cast<int8_t>(next(rng) % 4));
    put_string(s, rng, next, names[i]);
    put_string(s, rng, next, "10");
    put_string(s, rng, next, "a parameter");
  }
  return s;
}
