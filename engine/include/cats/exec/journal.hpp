// The order journal of a live run: an append-only file, one JSON object per line, of every order
// intent (written before the order leaves), venue acknowledgement, fill, cancel request and
// replace. Read back at start, it tells the host which orders it had sent and what it knew of
// them; reconciliation with the venue does the rest. docs/journal.md documents the format.
//
// Durability: each line is one write(2) of the whole line, so a killed process leaves every line
// it wrote in the file (the kernel has it) and at most a torn last line when the machine itself
// fails mid-write; that line is skipped with a warning. fsync policy (live.journal_fsync):
// "always" syncs after every line, "intents" (the default) after each intent before the order is
// sent, "never" leaves it to the kernel.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace cats {

enum class journal_fsync { always, intents, never };

/// Parses "always" / "intents" / "never"; false otherwise.
bool parse_journal_fsync(std::string_view text, journal_fsync& out) noexcept;

class journal {
 public:
  /// Opens (creates, mode 0600) `path` for appending. Throws std::runtime_error with the reason.
  journal(std::filesystem::path path, journal_fsync policy);
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Appends one line (a JSON object without the newline); `intent` marks a line that must be
  /// durable before the order it describes is sent. False (and logged once) when it could not be
  /// written.
  bool append(std::string_view line, bool intent);
  const std::filesystem::path& path() const noexcept { return path_; }
  uint64_t lines() const noexcept { return lines_; }
  uint64_t failures() const noexcept { return failures_; }

  /// Calls `each(object, line_number)` for every line of `path` (none when it does not exist).
  /// A broken last line is skipped with a warning; a broken line before it is an error:
  /// returns false with `error` naming the file, the line and what was wrong.
  static bool read(const std::filesystem::path& path,
                   const std::function<bool(simdjson::dom::object, size_t, std::string&)>& each,
                   std::string& error);

 private:
  std::filesystem::path path_;
  journal_fsync policy_;
  int fd_ = -1;
  uint64_t lines_ = 0, failures_ = 0;
  std::string buf_;
};

}  // namespace cats
