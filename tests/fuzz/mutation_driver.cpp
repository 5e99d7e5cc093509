// Runs a fuzz target on deterministic mutations of valid files (byte flips, insertions,
// deletions, truncations, duplicated and swapped lines), so that every build of the tests
// exercises it. Usage: <target>_fuzz [iterations] [seed]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Each target provides a valid input to mutate (varied by `rng`) and its name for the report.
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&));
extern const char* const fuzz_target_name;

namespace {

uint64_t next(uint64_t& s) {
  s += 0x9E3779B97F4A7C15ull;
  uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 3000;
  uint64_t rng = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20261125;
  static const char alphabet[] = "0123456789.,-\n\r eE+xX\t\"";
  for (long it = 0; it < iterations; ++it) {
    std::string s = fuzz_seed_file(rng, next);
    const int edits = 1 + static_cast<int>(next(rng) % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = next(rng) % s.size();
      switch (next(rng) % 7) {
        case 0:
          s[at] = alphabet[next(rng) % (sizeof alphabet - 1)];
          break;
        case 1:
          s.insert(at, 1, alphabet[next(rng) % (sizeof alphabet - 1)]);
          break;
        case 2:
          s.erase(at, 1 + next(rng) % 16);
          break;
        case 3:
          s.resize(at);
          break;
        case 4:
          s[at] = static_cast<char>(next(rng) & 0xFF);
          break;
        case 5: {  // duplicate a line
          const size_t b = s.rfind('\n', at), en = s.find('\n', at);
          if (b != std::string::npos && en != std::string::npos)
            s.insert(en + 1, s.substr(b + 1, en - b));
          break;
        }
        default:
          s.insert(at, std::string(1 + next(rng) % 40, '9'));
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("%s: %ld mutated inputs, no crash\n", fuzz_target_name, iterations);
  return 0;
}
