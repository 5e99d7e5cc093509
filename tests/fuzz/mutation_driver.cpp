// Runs a fuzz target on deterministic mutations of valid files (byte flips, insertions,
// deletions, truncations, duplicated and swapped lines), so that every build of the tests
// exercises it. Usage: <target>_fuzz [iterations] [seed]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Each target provides a valid input to mutate (varied by `rng`) and its name for the report.
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&));
extern const char* const fuzz_target_name;

using cats::fuzz::splitmix;

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 3000;
  uint64_t rng = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20261125;
  static const char alphabet[] = "0123456789.,-\n\r eE+xX\t\"";
  for (long it = 0; it < iterations; ++it) {
    std::string s = fuzz_seed_file(rng, splitmix);
    const int edits = 1 + static_cast<int>(splitmix(rng) % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = splitmix(rng) % s.size();
      switch (splitmix(rng) % 7) {
        case 0:
          s[at] = alphabet[splitmix(rng) % (sizeof alphabet - 1)];
          break;
        case 1:
          s.insert(at, 1, alphabet[splitmix(rng) % (sizeof alphabet - 1)]);
          break;
        case 2:
          s.erase(at, 1 + splitmix(rng) % 16);
          break;
        case 3:
          s.resize(at);
          break;
        case 4:
          s[at] = static_cast<char>(splitmix(rng) & 0xFF);
          break;
        case 5: {  // duplicate a line
          const size_t b = s.rfind('\n', at), en = s.find('\n', at);
          if (b != std::string::npos && en != std::string::npos)
            s.insert(en + 1, s.substr(b + 1, en - b));
          break;
        }
        default:
          s.insert(at, std::string(1 + splitmix(rng) % 40, '9'));
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("%s: %ld mutated inputs, no crash\n", fuzz_target_name, iterations);
  return 0;
}
