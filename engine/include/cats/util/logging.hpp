// Logging set-up: human-readable lines on stderr (stdout stays clean for results), optionally a
// log file too.
#pragma once

#include <filesystem>
#include <string>

namespace cats {

/// Sets the level ("trace" ... "off") and adds a file sink when `file` is not empty. Returns false
/// with `error` set when the level is unknown or the file cannot be opened.
bool setup_logging(const std::string& level, const std::filesystem::path& file, std::string& error);

}  // namespace cats
