// Runs the fuzz target on deterministic mutations of valid kline files (byte flips, insertions,
// deletions, truncations, duplicated and swapped lines), so that every build of the tests
// exercises it. Usage: kline_csv_fuzz [iterations] [seed]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

uint64_t next(uint64_t& s) {
  s += 0x9E3779B97F4A7C15ull;
  uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string seed_file(uint64_t& rng) {
  std::string out;
  if (next(rng) % 2) out += "open_time,open,high,low,close,volume,close_time,quote_volume,count,x,y,ignore\n";
  const bool micros = next(rng) % 3 == 0;
  int64_t t = 1'640'995'200'000;
  for (int i = 0; i < 40; ++i, t += 60'000) {
    const int64_t m = micros ? 1000 : 1;
    out += std::to_string(t * m) + ",46216.93000000,46731.39,46208.3,46656.13000000,1503.33095," +
           std::to_string((t + 59'999) * m + (micros ? 999 : 0)) +
           ",69879986.3904993,38608,806.06536000,37462156.917644,0" + (i % 7 == 0 ? "\r\n" : "\n");
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 3000;
  uint64_t rng = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20261125;
  static const char alphabet[] = "0123456789.,-\n\r eE+xX\t\"";
  for (long it = 0; it < iterations; ++it) {
    std::string s = seed_file(rng);
    const int edits = 1 + static_cast<int>(next(rng) % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = next(rng) % s.size();
      switch (next(rng) % 7) {
        case 0: s[at] = alphabet[next(rng) % (sizeof alphabet - 1)]; break;
        case 1: s.insert(at, 1, alphabet[next(rng) % (sizeof alphabet - 1)]); break;
        case 2: s.erase(at, 1 + next(rng) % 16); break;
        case 3: s.resize(at); break;
        case 4: s[at] = static_cast<char>(next(rng) & 0xFF); break;
        case 5: {  // duplicate a line
          const size_t b = s.rfind('\n', at), en = s.find('\n', at);
          if (b != std::string::npos && en != std::string::npos) s.insert(en + 1, s.substr(b + 1, en - b));
          break;
        }
        default: s.insert(at, std::string(1 + next(rng) % 40, '9')); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("kline_csv_fuzz: %ld mutated inputs, no crash\n", iterations);
  return 0;
}
