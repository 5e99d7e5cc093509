#include "cats/exec/journal.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace cats {

bool parse_journal_fsync(std::string_view text, journal_fsync& out) noexcept {
  if (text == "always")
    out = journal_fsync::always;
  else if (text == "intents")
    out = journal_fsync::intents;
  else if (text == "never")
    out = journal_fsync::never;
  else
    return false;
  return true;
}

journal::journal(std::filesystem::path path, journal_fsync policy)
    : path_(std::move(path)), policy_(policy) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0)
    throw std::runtime_error("cannot open the order journal " + path_.string() + ": " +
                             std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && (st.st_mode & 077) != 0)
    spdlog::warn("the order journal {} is readable by others (mode {:o}); it names your orders",
                 path_.string(), st.st_mode & 0777);
}

journal::~journal() {
  if (fd_ >= 0) ::close(fd_);
}

bool journal::append(std::string_view line, bool intent) {
  buf_.assign(line);
  buf_ += '\n';
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (failures_++ == 0)
        spdlog::error("cannot write the order journal {}: {}", path_.string(),
                      std::strerror(errno));
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ++lines_;
  if (policy_ == journal_fsync::always || (intent && policy_ == journal_fsync::intents)) {
    if (::fdatasync(fd_) != 0 && failures_++ == 0)
      spdlog::error("cannot sync the order journal {}: {}", path_.string(), std::strerror(errno));
  }
  return true;
}

bool journal::read(const std::filesystem::path& path,
                   const std::function<bool(simdjson::dom::object, size_t, std::string&)>& each,
                   std::string& error) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return true;  // no journal yet
  if (!std::filesystem::is_regular_file(path, ec)) {
    error = path.string() + ": the order journal must be a regular file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path.string() + ": cannot read the order journal";
    return false;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  simdjson::dom::parser parser;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool last = end == std::string::npos || end + 1 >= text.size();
    if (end == std::string::npos) end = text.size();
    ++line_no;
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    simdjson::dom::object obj;
    const bool complete = text.size() >= end && (end < text.size());  // ends with a newline
    if (parser.parse(line.data(), line.size()).get(obj) != simdjson::SUCCESS || !complete) {
      if (last) {
        spdlog::warn("{} line {}: an incomplete last line (a write cut short) is skipped",
                     path.string(), line_no);
        break;
      }
      error = path.string() + " line " + std::to_string(line_no) +
              ": not a JSON object; the journal is damaged (move it aside to start without it, "
              "and reconcile by hand)";
      return false;
    }
    std::string why;
    if (!each(obj, line_no, why)) {
      error = path.string() + " line " + std::to_string(line_no) + ": " + why;
      return false;
    }
  }
  return true;
}

}  // namespace cats
