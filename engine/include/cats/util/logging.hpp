// Logging set-up: human-readable lines on stderr (stdout stays clean for results), optionally a
// log file too.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

namespace cats {

/// Sets the level ("trace" ... "off") and adds a file sink when `file` is not empty. Returns false
/// with `error` set when the level is unknown or the file cannot be opened.
bool setup_logging(const std::string& level, const std::filesystem::path& file, std::string& error);

/// Where results (--json, summary tables) go: the process's original stdout. After
/// divert_stdout() that is a private copy of it, and file descriptor 1 - what a plugin's printf or
/// std::cout reaches - writes to stderr instead, so nothing a plugin prints can corrupt results.
std::FILE* results_stream() noexcept;
/// Returns false (and changes nothing) if the descriptors cannot be duplicated.
bool divert_stdout() noexcept;

}  // namespace cats
