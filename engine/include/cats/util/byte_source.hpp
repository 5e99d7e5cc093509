// Sequential byte sources for the data readers, and a fixed-buffer line reader on top of them.
// A path names a plain file, a `.gz` file (zlib) or a `.zip` archive (libzip); an archive that
// holds several files takes `archive.zip#entry.csv` to pick one. Compressed data is inflated as it
// is read, never unpacked to disk or to memory as a whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace cats {

class byte_source {
 public:
  virtual ~byte_source();
  /// Reads up to n bytes into buf: the count, 0 at the end, -1 on error (error() says why).
  virtual ptrdiff_t read(char* buf, size_t n) = 0;
  /// "path: what went wrong" after read() returned -1.
  virtual const std::string& error() const = 0;
  /// How many bytes read() returns in all (the uncompressed size), or 0 when unknown.
  virtual uint64_t size() const noexcept { return 0; }
};

/// Opens `path` by its name: `*.zip` (optionally `*.zip#entry`) through libzip, `*.gz` through
/// zlib, anything else as a plain file. Null with `error` set ("path: cannot open: ...",
/// "path: not a zip archive", "path: holds 2 entries (a.csv, b.csv); name one as path#entry").
std::unique_ptr<byte_source> open_byte_source(const std::string& path, std::string& error);
/// True when open_byte_source inflates what `path` names (`*.gz`, `*.zip`, `*.zip#entry`, in any
/// case): its size on disk is not the size of the data, and it cannot be read at an offset.
bool compressed_path(const std::string& path);

/// Splits off text-file lines from a byte source through one fixed buffer, so memory does not
/// grow with the file. The parsers that use it rely on two guarantees, which let their loops run
/// without bounds checks: the byte at a line's end is never a digit, '.' or ',' (the newline, a
/// '\r', or a sentinel newline after the data), and at least 8 readable bytes follow it.
class line_reader {
 public:
  enum class status : uint8_t { line, end, error };

  /// Opens `path` (see open_byte_source); `buffer_size` is also the longest line accepted.
  bool open(const std::string& path, size_t buffer_size, std::string& error);

  /// The next line [b, e) without "\n" or "\r\n"; a UTF-8 byte-order mark at the start of the
  /// file is dropped. Blank lines are returned as empty ranges.
  [[gnu::always_inline]] inline status next(const char*& b, const char*& e, std::string& error);

  /// 1-based number of the line last returned.
  uint64_t line_number() const noexcept { return line_; }
  /// Fraction of the input read so far, in [0, 1]; negative when the size is unknown (.gz).
  double fraction() const noexcept {
    const uint64_t total = src_ ? src_->size() : 0;
    return total == 0 ? -1.0 : static_cast<double>(consumed_) / static_cast<double>(total);
  }

 private:
  bool refill(std::string& error);

  std::string path_;
  std::unique_ptr<byte_source> src_;
  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
  uint64_t line_ = 0;
  uint64_t consumed_ = 0;  // bytes the source has returned
};

inline line_reader::status line_reader::next(const char*& b, const char*& e, std::string& error) {
  for (;;) {
    const char* base = buf_.get();
    const char* nl = static_cast<const char*>(std::memchr(base + pos_, '\n', len_ - pos_));
    if (nl == nullptr) {
      if (!eof_) {
        if (!refill(error)) return status::error;
        continue;
      }
      if (pos_ == len_) return status::end;
      nl = base + len_;  // last line without a newline: the sentinel ends it
    }
    b = base + pos_;
    e = nl;
    pos_ = static_cast<size_t>(nl - base) + (nl < base + len_ ? 1 : 0);
    ++line_;
    if (e > b && e[-1] == '\r') --e;
    if (line_ == 1 && e - b >= 3 && std::memcmp(b, "\xEF\xBB\xBF", 3) == 0) b += 3;
    return status::line;
  }
}

}  // namespace cats
