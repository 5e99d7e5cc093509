// Linked into the libFuzzer builds of the targets: with CATS_FUZZ_SEEDS=DIR in the environment,
// the target writes 32 valid inputs from its seed generator (the one the mutation driver starts
// from) into DIR and exits, so that tools/fuzz.sh starts every run from inputs made by code.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_common.hpp"

std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&));

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("CATS_FUZZ_SEEDS");
  if (dir == nullptr || *dir == '\0') return 0;
  uint64_t rng = 20261205;
  for (int i = 0; i < 32; ++i) {
    const std::string seed = fuzz_seed_file(rng, cats::fuzz::splitmix);
    const std::string path = std::string(dir) + "/seed-" + std::to_string(i);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      std::perror(path.c_str());
      std::exit(1);
    }
    std::fwrite(seed.data(), 1, seed.size(), f);
    std::fclose(f);
  }
  std::exit(0);
}
