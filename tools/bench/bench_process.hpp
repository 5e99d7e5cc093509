// Process helpers shared by the benchmark drivers that start `cats` and the fake exchange.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cats::bench {

/// Starts argv[0] with stdout/stderr sent to files.
inline pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& out,
                   const std::filesystem::path& err) {
  std::fflush(stdout);  // or the child's copy of the buffer is printed twice
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) _exit(127);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

/// A whole file as text ("" if it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Makes a self-signed certificate for 127.0.0.1 with the openssl CLI; false on failure.
inline bool make_cert(const std::string& cert, const std::string& key) {
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

/// The port the fake exchange wrote to its --port-file (waits up to 5 s); "" if none.
inline std::string wait_for_port(const std::filesystem::path& file) {
  for (int i = 0; i < 500 && !std::filesystem::exists(file); ++i) usleep(10000);
  std::string port = slurp(file);
  while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) port.pop_back();
  return port;
}

/// The number after `"key":` in the object that follows `section` (our own summary.json layout),
/// or "?".
inline std::string json_number(const std::string& text, const std::string& section,
                               const std::string& key) {
  const size_t s = text.find("\"" + section + "\"");
  if (s == std::string::npos) return "?";
  const size_t k = text.find("\"" + key + "\":", s);
  if (k == std::string::npos) return "?";
  const size_t b = k + key.size() + 3;
  return text.substr(b, text.find_first_of(",}", b) - b);
}

}  // namespace cats::bench
