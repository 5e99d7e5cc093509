#include "cats/exec/credentials.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace cats {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r')) ++i;
  return s.substr(i);
}

credentials from_file(const venue_section& v) {
  const std::string name = v.key_file.string();
  const int fd = ::open(v.key_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::invalid_argument(v.name + ": cannot open the key file " + name + ": " +
                                std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::invalid_argument(v.name + ": the key file " + name + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::invalid_argument(v.name + ": the key file " + name + " has mode " + mode +
                                ": other users could read it; it must be readable by its owner "
                                "only (chmod 600 " +
                                name + ")");
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    throw std::invalid_argument(v.name + ": the key file " + name +
                                " belongs to another user; it must be this user's own file");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1 << 16)) break;
  }
  ::close(fd);
  credentials c;
  const size_t nl = text.find('\n');
  c.api_key = trim(text.substr(0, nl));
  c.secret = nl == std::string::npos ? std::string() : trim(text.substr(nl + 1));
  std::fill(text.begin(), text.end(), '\0');
  if (v.name == "okx") {
    const size_t second = c.secret.find('\n');
    c.passphrase = second == std::string::npos ? std::string() : trim(c.secret.substr(second + 1));
    if (second != std::string::npos) c.secret = trim(c.secret.substr(0, second));
    if (c.passphrase.empty())
      throw std::invalid_argument(v.name + ": the key file " + name +
                                  " must hold the API key, the secret and the passphrase, one "
                                  "per line");
  }
  if (c.api_key.empty() || c.secret.empty())
    throw std::invalid_argument(v.name + ": the key file " + name +
                                " must hold the API key on its first line and the secret after it");
  c.source = "key file " + name;
  return c;
}

}  // namespace

credentials load_credentials(const venue_section& v) {
  if (!v.key_file.empty()) return from_file(v);
  credentials c;
  const char* key = std::getenv(v.api_key_env.c_str());
  const char* secret = std::getenv(v.secret_env.c_str());
  if (key == nullptr || *key == '\0' || secret == nullptr || *secret == '\0')
    throw std::invalid_argument(v.name + ": no API key: set " + v.api_key_env + " and " +
                                v.secret_env + " in the environment, or key_file in [venues." +
                                v.name + "]");
  c.api_key = key;
  c.secret = secret;
  c.source = "environment (" + v.api_key_env + ", " + v.secret_env + ")";
  if (v.name == "okx") {
    const char* pass = std::getenv(v.passphrase_env.c_str());
    if (pass == nullptr || *pass == '\0')
      throw std::invalid_argument(v.name + ": no API passphrase: set " + v.passphrase_env +
                                  " in the environment, or use key_file");
    c.passphrase = pass;
  }
  return c;
}

}  // namespace cats
