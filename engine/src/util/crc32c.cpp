#include "cats/util/crc32c.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace cats {

namespace {

struct tables {
  uint32_t t[8][256];
};

constexpr tables make_tables() {
  tables c{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t v = i;
    for (int k = 0; k < 8; ++k) v = (v & 1) != 0 ? 0x82F63B78u ^ (v >> 1) : v >> 1;
    c.t[0][i] = v;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) c.t[k][i] = (c.t[k - 1][i] >> 8) ^ c.t[0][c.t[k - 1][i] & 0xff];
  }
  return c;
}

constexpr tables table = make_tables();

uint32_t load32(const unsigned char* p) noexcept {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of 3 cycles and a throughput of one a cycle: one chain of
// them runs at a third of the CPU's speed. Long inputs are cut into three lanes of equal length
// whose CRCs run side by side, then joined: the CRC register is linear, so the register after
// A then B is shift(reg after A, |B|) ^ (B's register from zero), where shift feeds |B| zero
// bytes through the register. A shift by a fixed length is a 32x32 bit matrix over GF(2),
// applied here as four 256-entry tables (one per byte of the register).
struct shift_table {
  uint32_t t[4][256];
};

__attribute__((target("sse4.2"))) uint32_t feed_zeros(uint32_t reg, size_t n) noexcept {
  uint64_t c = reg;
  for (size_t i = 0; i < n / 8; ++i) c = _mm_crc32_u64(c, 0);
  return static_cast<uint32_t>(c);
}

shift_table make_shift(size_t n) {
  uint32_t bit[32];
  for (int i = 0; i < 32; ++i) bit[i] = feed_zeros(1u << i, n);
  shift_table s{};
  for (int j = 0; j < 4; ++j)
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t out = 0;
      for (int k = 0; k < 8; ++k)
        if ((v >> k & 1) != 0) out ^= bit[8 * j + k];
      s.t[j][v] = out;
    }
  return s;
}

inline uint32_t shift(const shift_table& s, uint32_t reg) noexcept {
  return s.t[0][reg & 0xff] ^ s.t[1][(reg >> 8) & 0xff] ^ s.t[2][(reg >> 16) & 0xff] ^
         s.t[3][reg >> 24];
}

constexpr size_t long_lane = 8192;  // a 64 KiB store block: two long rounds, then short ones
constexpr size_t short_lane = 256;

struct lane_shifts {
  shift_table by_long = make_shift(long_lane);
  shift_table by_short = make_shift(short_lane);
};

const lane_shifts& shifts() {
  static const lane_shifts s;
  return s;
}

// Three lanes of `lane` bytes each (a multiple of 8) from `p`, continuing register `c0`.
__attribute__((target("sse4.2"))) inline uint64_t three_lanes(const unsigned char* p, size_t lane,
                                                              uint64_t c0,
                                                              const shift_table& by) noexcept {
  uint64_t c1 = 0, c2 = 0;
  for (size_t i = 0; i < lane; i += 8) {
    uint64_t a, b, c;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, p + lane + i, 8);
    std::memcpy(&c, p + 2 * lane + i, 8);
    c0 = _mm_crc32_u64(c0, a);
    c1 = _mm_crc32_u64(c1, b);
    c2 = _mm_crc32_u64(c2, c);
  }
  const uint32_t ab = shift(by, static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
  return shift(by, ab) ^ static_cast<uint32_t>(c2);
}

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const unsigned char* p, size_t n,
                                                        uint32_t crc) noexcept {
  uint64_t c = ~crc;
  if (n >= 3 * short_lane) {
    const lane_shifts& s = shifts();
    for (; n >= 3 * long_lane; n -= 3 * long_lane, p += 3 * long_lane)
      c = three_lanes(p, long_lane, c, s.by_long);
    for (; n >= 3 * short_lane; n -= 3 * short_lane, p += 3 * short_lane)
      c = three_lanes(p, short_lane, c, s.by_short);
  }
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return ~c32;
}

bool detect_sse42() noexcept {
  __builtin_cpu_init();  // static initializers may run before libgcc's own
  return __builtin_cpu_supports("sse4.2") != 0;
}
const bool has_sse42 = detect_sse42();
#endif

}  // namespace

uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc) noexcept {
  const auto& t = table.t;
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t a = load32(p) ^ c;
    const uint32_t b = load32(p + 4);
    c = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
        t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
  }
  for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t crc32c(const void* data, size_t n, uint32_t crc) noexcept {
#if defined(__x86_64__)
  if (has_sse42) return crc32c_sse42(static_cast<const unsigned char*>(data), n, crc);
#endif
  return crc32c_portable(data, n, crc);
}

bool crc32c_hardware() noexcept {
#if defined(__x86_64__)
  return has_sse42;
#else
  return false;
#endif
}

}  // namespace cats
