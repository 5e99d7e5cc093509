// HTTPS downloads of whole files (the venues' public-data archives): streamed to disk, resumed
// from where an earlier attempt stopped, and checked against a SHA-256.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "cats/net/ws_client.hpp"

namespace cats::net {

struct download_options {
  tls_options tls;
  /// Connecting, and each read: silence this long ends the attempt (resumed by the next one).
  std::chrono::milliseconds timeout{30000};
  /// Attempts per file: a connection that drops mid-body is resumed from the bytes on disk.
  int attempts = 5;
  /// Called as bytes arrive: bytes on disk, and the file's size (0 while unknown).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct download_result {
  int status = 0;        ///< the last HTTP status (0: no response)
  uint64_t bytes = 0;    ///< the file's size once whole
  uint64_t fetched = 0;  ///< bytes transferred by this call (less than `bytes` when resumed)
  int attempts = 0;
  bool resumed = false;  ///< an earlier partial file was continued
  std::string error;     ///< empty on success; says what failed, with the URL
};

/// GETs `url` into `file`. The bytes go to `<file>.part` first, which survives a failure: the
/// next call (or attempt) asks for the rest with a Range request; the .part is renamed to `file`
/// once the whole body is there. A 404 fails at once (no retry).
download_result download_file(const std::string& url, const std::filesystem::path& file,
                              const download_options& options);

/// GETs a small body (at most 1 MiB) into `body`.
download_result fetch_text(const std::string& url, std::string& body,
                           const download_options& options);

/// The SHA-256 of a file, in lowercase hex; throws std::runtime_error naming it when it cannot
/// be read.
std::string sha256_file(const std::filesystem::path& file);

}  // namespace cats::net
