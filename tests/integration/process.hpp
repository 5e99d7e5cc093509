// Runs a program the way a user would and captures what it prints.
#pragma once

#include <string>
#include <vector>

namespace cats::test {

struct run_result {
  int exit_code = -1;  ///< -1 if it did not exit normally (signal, timeout)
  std::string out, err;
};

/// Runs argv[0] with the arguments, in `cwd` if not empty; kills it after `timeout_s` seconds.
run_result run(const std::vector<std::string>& argv, const std::string& cwd = {},
               int timeout_s = 600);

}  // namespace cats::test
