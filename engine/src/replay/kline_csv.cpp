#include "cats/replay/kline_csv.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"
#include "csv_fields.hpp"

namespace cats {

namespace {

using namespace csv;

constexpr const char* field_names[12] = {"open_time",
                                         "open",
                                         "high",
                                         "low",
                                         "close",
                                         "volume",
                                         "close_time",
                                         "quote_volume",
                                         "count",
                                         "taker_buy_base_volume",
                                         "taker_buy_quote_volume",
                                         "ignore"};

const char* describe(field_error e) {
  switch (e) {
    case field_error::none:
      return "ok";
    case field_error::empty:
      return "empty value";
    case field_error::bad_char:
      return "not a number";
    case field_error::too_many_decimals:
      return "more than 8 decimal places";
    case field_error::range:
      return "number out of range";
    case field_error::missing:
      return "missing (fewer than 12 columns)";
    case field_error::extra:
      return "more than 12 columns";
  }
  return "?";
}

// The twelve fields of a row, with nothing checked that needs the rows before it; the times as
// written. On failure, `err` and `field` (0-based) say what and where.
bool parse_fields(const char* b, const char* e, kline_row& r, int64_t& open_time,
                  int64_t& close_time, field_error& err, int& field) {
  const char* p = b;
  auto check = [&](field_error fe, int idx) {
    if (fe == field_error::none) return true;
    err = fe;
    field = idx;
    return false;
  };
  return check(parse_int(p, e, open_time), 0) && check(parse_decimal(p, e, r.open), 1) &&
         check(parse_decimal(p, e, r.high), 2) && check(parse_decimal(p, e, r.low), 3) &&
         check(parse_decimal(p, e, r.close), 4) && check(parse_decimal(p, e, r.volume), 5) &&
         check(parse_int(p, e, close_time), 6) && check(parse_decimal(p, e, r.quote_volume), 7) &&
         check(parse_int(p, e, r.trade_count), 8) &&
         check(parse_decimal(p, e, r.taker_buy_volume), 9) &&
         check(parse_decimal(p, e, r.taker_buy_quote_volume), 10) && check(skip_field(p, e), 11);
}

}  // namespace

kline_csv_reader::kline_csv_reader(std::string path, kline_reader_options options)
    : path_(std::move(path)), options_(options) {
  if (options_.buffer_size < 4096) options_.buffer_size = 4096;
}

// ---- reading ahead on several threads ----------------------------------------------------------
//
// The file is cut into windows: the first of 64 KiB (a file opened to wait its turn in a merge
// holds little), then `window_bytes` each. A window owns the lines that start in it (the last one
// may run past its end). Whoever claims a window (a helper, or the caller when it gets there
// first) reads it with pread, splits its lines as line_reader would (CR, BOM, the longest line)
// and parses their fields. The caller then takes the windows in order and does everything that
// depends on the rows before a line: line numbers, the header, the time unit, the messages. A line
// the fast parse does not accept is parsed again by the caller's own parse_line, so every error
// reads exactly as it does without helpers. At most `depth` windows are parsed and not yet taken,
// so memory stays bounded whatever the file's size; at the end of the file, or on an error, the
// helpers are joined and the windows freed.
struct kline_csv_reader::ahead {
  static constexpr uint64_t first_bytes = 64u << 10;
  static constexpr size_t padding = 64;       // after the bytes: the sentinel and the 8-byte loads
  static constexpr unsigned max_threads = 4;  // the caller's checks in order bound the gain

  enum class kind : uint8_t { row, slow, too_long };
  struct line {
    uint32_t begin = 0, end = 0;  // in the window's bytes, CR and BOM already cut
    uint32_t blanks_before = 0;   // blank lines between the previous line and this one
    kind what = kind::row;
  };
  struct window {
    // The bytes from one byte before the window (to find its first line), then `padding` more;
    // not zero-filled: every byte the parsers read is the file's or a sentinel.
    std::unique_ptr<char[]> bytes;
    size_t len = 0, capacity = 0;
    std::vector<line> lines;       // the non-blank lines it owns
    std::vector<kline_row> rows;   // the lines of kind row, times as written in the file
    uint64_t trailing_blanks = 0;  // blank lines after the last of `lines`
    std::string error;             // what went wrong after the lines (when `failed`)
    bool failed = false;
    uint64_t end_offset = 0;  // file offset after its last line
    bool ready = false;
  };

  ahead(int fd_, uint64_t size_, size_t max_line_, unsigned threads_, uint64_t window_bytes_,
        std::string path_)
      : fd(fd_),
        size(size_),
        max_line(max_line_),
        window_bytes(window_bytes_),
        threads(std::min(threads_, max_threads)),
        path(std::move(path_)),
        count(size_ <= first_bytes ? 1
                                   : 1 + (size_ - first_bytes + window_bytes_ - 1) / window_bytes_),
        depth(std::min<uint64_t>(2 * threads, count)),
        slots(depth) {}
  ~ahead() {
    finish();
    ::close(fd);
  }

  // Joins the helpers and frees the windows (at the end of the file, or when the caller stops).
  void finish() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    room.notify_all();
    for (std::thread& t : helpers) t.join();
    helpers.clear();
    slots.clear();
    slots.shrink_to_fit();
    current = nullptr;
  }

  uint64_t start_of(uint64_t index) const noexcept {
    return index == 0 ? 0 : std::min(size, first_bytes + (index - 1) * window_bytes);
  }

  // Reads [at, at + n) into w.bytes after what is there; false with w.error set on a failure.
  // The sentinel and the padding follow whatever was read, either way.
  bool read(window& w, uint64_t at, size_t n) {
    if (w.len + n + padding > w.capacity) {
      const size_t cap = std::max(w.len + n + padding, w.capacity + w.capacity / 2);
      auto bigger = std::make_unique_for_overwrite<char[]>(cap);
      if (w.len > 0) std::memcpy(bigger.get(), w.bytes.get(), w.len);
      w.bytes = std::move(bigger);
      w.capacity = cap;
    }
    size_t got = 0;
    bool ok = true;
    while (got < n) {
      const ssize_t r =
          ::pread(fd, w.bytes.get() + w.len + got, n - got, static_cast<off_t>(at + got));
      const int err = errno;
      if (r < 0 && err == EINTR) continue;
      if (r <= 0) {
        w.failed = true;
        w.error = path + ": " +
                  (r < 0 ? std::string("read failed: ") + std::strerror(err)
                         : std::string("the file got shorter while being read"));
        ok = false;
        break;
      }
      got += static_cast<size_t>(r);
    }
    w.len += got;
    std::memset(w.bytes.get() + w.len, 0, padding);
    w.bytes[w.len] = '\n';
    return ok;
  }

  void fill(uint64_t index, window& w) {
    w.len = 0;
    w.lines.clear();
    w.rows.clear();
    w.trailing_blanks = 0;
    w.error.clear();
    w.failed = false;
    const uint64_t lo = start_of(index), end_of_window = start_of(index + 1);
    const uint64_t from = lo == 0 ? 0 : lo - 1;  // file offset of bytes[0]
    w.end_offset = end_of_window;
    if (!read(w, from, static_cast<size_t>(end_of_window - from))) return;
    // The first line that starts in the window: at its start, or after the first newline.
    size_t pos = 0;
    if (lo > 0) {
      const void* nl = std::memchr(w.bytes.get(), '\n', w.len);
      if (nl == nullptr) return;  // one long line runs through the whole window
      pos = static_cast<size_t>(static_cast<const char*>(nl) - w.bytes.get()) + 1;
    }
    uint32_t blanks = 0;
    while (from + pos < end_of_window) {
      // The line's end: a newline, or the end of the file; read on past the window for it.
      size_t end = 0, scan = pos;  // bytes before `scan` hold no newline
      for (;;) {
        const void* nl = std::memchr(w.bytes.get() + scan, '\n', w.len - scan);
        if (nl != nullptr) {
          end = static_cast<size_t>(static_cast<const char*>(nl) - w.bytes.get());
          break;
        }
        if (from + w.len >= size || w.len - pos >= max_line) {
          end = w.len;
          break;
        }
        scan = w.len;
        const uint64_t more = std::min<uint64_t>(size - (from + w.len), 64u << 10);
        if (!read(w, from + w.len, static_cast<size_t>(more))) {
          w.trailing_blanks = blanks;
          return;
        }
      }
      char* const data = w.bytes.get();
      if (end - pos >= max_line) {  // line_reader refuses it: its buffer cannot hold it
        w.lines.push_back(
            {static_cast<uint32_t>(pos), static_cast<uint32_t>(pos), blanks, kind::too_long});
        w.end_offset = size;
        return;  // the caller stops there
      }
      const char* b = data + pos;
      const char* e = data + end;
      if (e > b && e[-1] == '\r') --e;
      if (from + pos == 0 && e - b >= 3 && std::memcmp(b, "\xEF\xBB\xBF", 3) == 0) b += 3;
      pos = end + 1;
      w.end_offset = from + std::min(pos, w.len);
      if (b == e) {
        ++blanks;
        continue;
      }
      line l{static_cast<uint32_t>(b - data), static_cast<uint32_t>(e - data), blanks, kind::slow};
      blanks = 0;
      if (!std::isalpha(static_cast<unsigned char>(*b))) {
        kline_row& r = w.rows.emplace_back();
        field_error err = field_error::none;
        int field = 0;
        if (parse_fields(b, e, r, r.open_time_ns, r.close_time_ns, err, field))
          l.what = kind::row;
        else
          w.rows.pop_back();
      }
      w.lines.push_back(l);
    }
    w.trailing_blanks = blanks;
  }

  // fill(), with a failure (out of memory) kept in the window for the caller to report in turn.
  void guarded_fill(uint64_t index, window& w) noexcept {
    try {
      fill(index, w);
    } catch (const std::exception& e) {
      w.failed = true;
      try {
        w.error = path + ": reading ahead failed: " + e.what();
      } catch (...) {  // the caller says what it can
      }
    }
  }

  // Helpers claim the next window while fewer than `depth` wait to be taken.
  void help() {
    for (;;) {
      uint64_t index = 0;
      {
        std::unique_lock<std::mutex> lock(mutex);
        room.wait(lock, [&] { return stop || next_claim >= count || next_claim < taken + depth; });
        if (stop || next_claim >= count) return;
        index = next_claim++;
      }
      window& w = slots[index % depth];
      guarded_fill(index, w);
      {
        std::lock_guard<std::mutex> lock(mutex);
        w.ready = true;
        ++helper_windows;
      }
      ready.notify_all();
    }
  }

  // The caller's window `taken`. While a helper still parses it, the caller parses the next
  // unclaimed window itself rather than wait (two threads on two cores stay busy).
  window* acquire() {
    if (taken >= count || slots.empty()) return nullptr;
    window& w = slots[taken % depth];
    std::unique_lock<std::mutex> lock(mutex);
    while (!w.ready) {
      if (next_claim < count && next_claim < taken + depth) {
        const uint64_t index = next_claim++;
        lock.unlock();
        guarded_fill(index, slots[index % depth]);
        lock.lock();
        slots[index % depth].ready = true;
      } else {
        ready.wait(lock);
      }
    }
    return &w;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      slots[taken % depth].ready = false;
      ++taken;
    }
    room.notify_all();
    // Helpers start once the caller is past the first window: a file that is opened and then
    // waits its turn (the next month of a merge) holds one small window and no thread. A thread
    // that cannot be made leaves its share to the caller.
    if (!started && taken < count) {
      started = true;
      const uint64_t wanted = std::min<uint64_t>(threads - 1, count - taken);
      try {
        helpers.reserve(wanted);
        for (uint64_t i = 0; i < wanted; ++i) helpers.emplace_back([this] { help(); });
      } catch (const std::exception&) {
      }
    }
  }

  const int fd;
  const uint64_t size;
  const size_t max_line;
  const uint64_t window_bytes;
  const unsigned threads;
  const std::string path;
  const uint64_t count;  // windows
  const uint64_t depth;  // windows parsed ahead at most
  std::vector<window> slots;
  std::vector<std::thread> helpers;
  std::mutex mutex;
  std::condition_variable ready, room;
  uint64_t next_claim = 0;  // the next window nobody has claimed
  uint64_t taken = 0;       // the caller's window (the ones before it are done)
  bool stop = false;
  bool started = false;  // helpers
  // The caller's place in its window.
  window* current = nullptr;
  size_t line_index = 0, row_index = 0;
  uint64_t helper_windows = 0;  // filled by helpers: for tests
};

kline_csv_reader::~kline_csv_reader() = default;

bool kline_csv_reader::open() {
  const bool plain = !compressed_path(path_);
  // Offsets in a window are 32-bit: lines up to 1 GiB read ahead, longer limits read in line.
  const uint64_t window = std::max<uint64_t>(options_.read_ahead_window, 4096);
  if (options_.threads > 1 && plain && options_.buffer_size <= (size_t{1} << 30) &&
      window <= (uint64_t{1} << 30)) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<uint64_t>(st.st_size) >= 2 * window) {
      ahead_ = std::make_unique<ahead>(fd, static_cast<uint64_t>(st.st_size), options_.buffer_size,
                                       options_.threads, window, path_);
      spdlog::debug("{}: parsed ahead on {} threads", path_, ahead_->threads);
      return true;
    }
    if (fd >= 0) ::close(fd);
  }
  return lines_.open(path_, options_.buffer_size, error_);
}

double kline_csv_reader::fraction_read() const noexcept {
  if (!ahead_) return lines_.fraction();
  const ahead& a = *ahead_;
  const uint64_t done = a.current != nullptr ? a.current->end_offset : a.start_of(a.taken);
  return static_cast<double>(done) / static_cast<double>(a.size);
}

uint64_t kline_csv_reader::windows_read_ahead() const noexcept {
  if (!ahead_) return 0;
  std::lock_guard<std::mutex> lock(ahead_->mutex);
  return ahead_->helper_windows;
}

kline_csv_reader::status kline_csv_reader::next_ahead(kline_row& row) {
  ahead& a = *ahead_;
  for (;;) {
    if (a.current == nullptr) {
      a.current = a.acquire();
      if (a.current == nullptr) {
        a.finish();  // the end: the helpers are done, the windows go
        return status::end;
      }
      a.line_index = a.row_index = 0;
    }
    ahead::window& w = *a.current;
    if (a.line_index == w.lines.size()) {
      line_ += w.trailing_blanks;
      if (w.failed) {
        error_ = w.error.empty() ? path_ + ": reading ahead failed" : w.error;
        a.finish();
        return status::error;
      }
      a.current = nullptr;
      a.release();
      continue;
    }
    const ahead::line& l = w.lines[a.line_index++];
    line_ += uint64_t{l.blanks_before} + 1;
    switch (l.what) {
      case ahead::kind::too_long:
        error_ = path_ + ":" + std::to_string(line_) + ": line longer than " +
                 std::to_string(options_.buffer_size) + " bytes";
        a.finish();
        return status::error;
      case ahead::kind::row: {
        row = w.rows[a.row_index++];
        if (check_row(row.open_time_ns, row.close_time_ns, row)) {
          row.line = line_;
          ++rows_;
          return status::row;
        }
        break;
      }
      case ahead::kind::slow:
        if (take(w.bytes.get() + l.begin, w.bytes.get() + l.end, row)) return status::row;
        break;
    }
    if (!error_.empty()) {
      a.finish();
      return status::error;
    }
  }
}

bool kline_csv_reader::reject(uint64_t line, const std::string& what) {
  std::string msg = path_ + ":" + std::to_string(line) + ": " + what;
  if (!options_.skip_malformed) {
    error_ = std::move(msg);
    return false;
  }
  ++skipped_;
  if (skip_messages_.size() < options_.max_kept_messages) skip_messages_.push_back(std::move(msg));
  return false;  // no row either way; error_ tells the caller whether to stop
}

kline_csv_reader::status kline_csv_reader::next(kline_row& row) {
  if (!error_.empty()) return status::error;
  if (ahead_) return next_ahead(row);
  for (;;) {
    const char* b = nullptr;
    const char* e = nullptr;
    const auto st = lines_.next(b, e, error_);
    if (st != line_reader::status::line)
      return st == line_reader::status::end ? status::end : status::error;
    line_ = lines_.line_number();
    if (b == e) continue;  // blank line
    if (take(b, e, row)) return status::row;
    if (!error_.empty()) return status::error;
  }
}

bool kline_csv_reader::take(const char* b, const char* e, kline_row& row) {
  // A header row starts with a letter ("open_time,open,..."); anything else is data.
  if (line_ == 1 && std::isalpha(static_cast<unsigned char>(*b))) {
    had_header_ = true;
    return false;
  }
  if (!parse_line(b, e, row)) return false;
  row.line = line_;
  ++rows_;
  return true;
}

bool kline_csv_reader::parse_line(const char* b, const char* e, kline_row& r) {
  int64_t open_time = 0, close_time = 0;
  field_error err = field_error::none;
  int field = 0;
  if (parse_fields(b, e, r, open_time, close_time, err, field))
    return check_row(open_time, close_time, r);
  if (err == field_error::missing || (field == 11 && err == field_error::bad_char)) {
    return reject(
        line_, "expected 12 comma-separated columns, found " + std::to_string(count_columns(b, e)));
  }
  return reject(line_, std::string("column ") + std::to_string(field + 1) + " (" +
                           field_names[field] + "): " + describe(err) + ": '" +
                           field_text(b, e, field) + "'");
}

bool kline_csv_reader::check_row(int64_t open_time, int64_t close_time, kline_row& r) {
  // Time unit: fixed by the first row of the file; later rows must agree.
  const time_unit u = unit_of(open_time);
  if (u == time_unit::unknown) return reject(line_, bad_epoch("open_time", open_time));
  if (unit_ == time_unit::unknown) {
    unit_ = u;
  } else if (u != unit_) {
    return reject(line_, "open_time " + std::to_string(open_time) + " is in " + unit_name(u) +
                             " but the file started in " + unit_name(unit_));
  }
  const int64_t mult = ns_per(unit_);
  // Nanoseconds since the epoch fit in int64 until 2262; later times are corrupt data here.
  if (open_time > INT64_MAX / mult || close_time > INT64_MAX / mult)
    return reject(line_, "open_time " + std::to_string(open_time) + " or close_time " +
                             std::to_string(close_time) + " is out of range (after the year 2262)");
  r.open_time_ns = open_time * mult;
  r.close_time_ns = close_time * mult;
  // In seconds, a 1-second bar's last instant is its open.
  if (close_time < open_time || (close_time == open_time && unit_ != time_unit::seconds))
    return reject(line_, "close_time " + std::to_string(close_time) + " is not after open_time " +
                             std::to_string(open_time));
  if (r.open == 0 || r.high == 0 || r.low == 0 || r.close == 0)
    return reject(line_, "prices must be positive");
  if (r.high < r.low || r.high < r.open || r.high < r.close || r.low > r.open || r.low > r.close)
    return reject(line_, "inconsistent prices: open " + fixed_to_string(r.open) + " high " +
                             fixed_to_string(r.high) + " low " + fixed_to_string(r.low) +
                             " close " + fixed_to_string(r.close) +
                             " (need low <= open, close <= high)");
  return true;
}

}  // namespace cats
