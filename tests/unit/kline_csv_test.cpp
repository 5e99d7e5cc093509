#include "cats/replay/kline_csv.hpp"

#include <gtest/gtest.h>

#include <string>

#include "test_util.hpp"

namespace cats {
namespace {

// Two rows of the real binance_spot_BTCUSDT-1h-2022-01.csv, copied by hand as test input.
const std::string row1 =
    "1640995200000,46216.93000000,46731.39000000,46208.37000000,46656.13000000,1503.33095000,"
    "1640998799999,69879986.39049930,38608,806.06536000,37462156.91764400,0";
const std::string row2 =
    "1640998800000,46656.14000000,46949.99000000,46574.06000000,46778.14000000,943.81539000,"
    "1641002399999,44127148.11760220,31872,491.18067000,22963272.85537420,0";
const std::string header =
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore";

struct read_result {
  std::vector<kline_row> rows;
  uint64_t helper_windows = 0;  // windows parsed by helper threads
  std::string error;
  uint64_t skipped = 0;
  std::vector<std::string> messages;
  bool header = false;
  time_unit unit = time_unit::unknown;
};

read_result read_all(const std::string& text, kline_reader_options opts = {},
                     bool* reads_ahead = nullptr) {
  test::temp_dir dir;
  const auto file = dir / "k.csv";
  test::write_file(file, text);
  kline_csv_reader r(file.string(), opts);
  read_result out;
  EXPECT_TRUE(r.open());
  if (reads_ahead != nullptr) *reads_ahead = r.reads_ahead();
  kline_row row;
  for (;;) {
    const auto st = r.next(row);
    if (st == kline_csv_reader::status::row) {
      out.rows.push_back(row);
      continue;
    }
    if (st == kline_csv_reader::status::error) {
      out.error = r.error();
      // Strip the temp folder so tests can compare messages.
      const std::string prefix = file.string();
      if (out.error.rfind(prefix, 0) == 0) out.error = "k.csv" + out.error.substr(prefix.size());
    }
    break;
  }
  out.helper_windows = r.windows_read_ahead();
  out.skipped = r.skipped();
  out.messages = r.skip_messages();
  for (std::string& m : out.messages)
    if (m.rfind(file.string(), 0) == 0) m = "k.csv" + m.substr(file.string().size());
  out.header = r.had_header();
  out.unit = r.unit();
  return out;
}

TEST(KlineCsv, ParsesEveryFieldExactly) {
  const auto r = read_all(row1 + "\n" + row2 + "\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 2u);
  const kline_row& k = r.rows[0];
  EXPECT_EQ(k.open_time_ns, 1'640'995'200'000'000'000);
  EXPECT_EQ(k.close_time_ns, 1'640'998'799'999'000'000);
  EXPECT_EQ(k.open, 4'621'693'000'000);
  EXPECT_EQ(k.high, 4'673'139'000'000);
  EXPECT_EQ(k.low, 4'620'837'000'000);
  EXPECT_EQ(k.close, 4'665'613'000'000);
  EXPECT_EQ(k.volume, 150'333'095'000);
  EXPECT_EQ(k.quote_volume, 6'987'998'639'049'930);
  EXPECT_EQ(k.trade_count, 38608);
  EXPECT_EQ(k.taker_buy_volume, 80'606'536'000);
  EXPECT_EQ(k.taker_buy_quote_volume, 3'746'215'691'764'400);
  EXPECT_EQ(k.line, 1u);
  EXPECT_EQ(r.rows[1].line, 2u);
  EXPECT_FALSE(r.header);
  EXPECT_EQ(r.unit, time_unit::milliseconds);
}

TEST(KlineCsv, HeaderCrlfAndMissingFinalNewline) {
  const auto r = read_all(header + "\r\n" + row1 + "\r\n" + row2);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_TRUE(r.header);
  EXPECT_EQ(r.rows[0].line, 2u);
  EXPECT_EQ(r.rows[1].close, 4'677'814'000'000);
}

TEST(KlineCsv, MicrosecondFilesAreDetected) {
  // Binance spot files from 2025 on carry microseconds.
  const auto r = read_all(
      "1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,"
      "1735689659999999,768978.57280920,1134,3.84318000,359573.61225850,0\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.unit, time_unit::microseconds);
  EXPECT_EQ(r.rows[0].open_time_ns, 1'735'689'600'000'000'000);
  EXPECT_EQ(r.rows[0].close_time_ns, 1'735'689'659'999'999'000);
}

// Epoch seconds (written by exporters other than the venues) are read as seconds: as
// milliseconds they would put 2024 data in January 1970 and the run would still "succeed".
TEST(KlineCsv, EpochSecondsAreSecondsAndTimesBefore2001AreRefused) {
  const auto r = read_all("1704067200,1,2,0.5,1.5,10,1704067259,1,1,1,1,0\n");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.unit, time_unit::seconds);
  EXPECT_EQ(r.rows[0].open_time_ns, 1'704'067'200'000'000'000);
  EXPECT_EQ(r.rows[0].close_time_ns, 1'704'067'259'000'000'000);
  // A 1-second bar in seconds: its last instant is its open.
  EXPECT_EQ(read_all("1704067200,1,2,0.5,1.5,10,1704067200,1,1,1,1,0\n").error, "");
  EXPECT_EQ(read_all("999999999,1,2,0.5,1.5,10,999999999,1,1,1,1,0\n").error,
            "k.csv:1: open_time 999999999 is not an epoch time in seconds, milliseconds or "
            "microseconds (after 2001)");
  EXPECT_EQ(read_all("1704067200,1,2,0.5,1.5,10,1704067259,1,1,1,1,0\n"
                     "1704067260000,1,2,0.5,1.5,10,1704067319999,1,1,1,1,0\n")
                .error,
            "k.csv:2: open_time 1704067260000 is in milliseconds but the file started in seconds");
}

TEST(KlineCsv, MixedTimeUnitsAreAnError) {
  const auto r = read_all(row1 + "\n" + "1640998800000000,1,1,1,1,1,1640998859999999,1,1,1,1,0\n");
  EXPECT_EQ(r.error,
            "k.csv:2: open_time 1640998800000000 is in microseconds but the file started in "
            "milliseconds");
}

TEST(KlineCsv, MalformedRowsNameFileLineAndField) {
  EXPECT_EQ(read_all(row1 + "\n1640998800000,1,2,0.5,1.5,10,1641002399999,1,1,1\n").error,
            "k.csv:2: expected 12 comma-separated columns, found 10");
  EXPECT_EQ(read_all(row1 + ",extra\n").error,
            "k.csv:1: expected 12 comma-separated columns, found 13");
  EXPECT_EQ(read_all("1640998800000,1,abc,0.5,1.5,10,1641002399999,1,1,1,1,0\n").error,
            "k.csv:1: column 3 (high): not a number: 'abc'");
  EXPECT_EQ(read_all("1640998800000,1,2,0.5,1.123456789,10,1641002399999,1,1,1,1,0\n").error,
            "k.csv:1: column 5 (close): more than 8 decimal places: '1.123456789'");
  EXPECT_EQ(read_all("1640998800000,1,2,0.5,,10,1641002399999,1,1,1,1,0\n").error,
            "k.csv:1: column 5 (close): empty value: ''");
  EXPECT_EQ(read_all("1640998800000,1,2,0.5,-1,10,1641002399999,1,1,1,1,0\n").error,
            "k.csv:1: column 5 (close): not a number: '-1'");
  EXPECT_EQ(read_all("1640998800000,1,2,0.5,1.5,10,1641002399999,1,x1,1,1,0\n").error,
            "k.csv:1: column 9 (count): not a number: 'x1'");
  EXPECT_EQ(read_all("1640998800000,1,0.5,2,1.5,10,1641002399999,1,1,1,1,0\n").error,
            "k.csv:1: inconsistent prices: open 1 high 0.5 low 2 close 1.5 (need low <= open, "
            "close <= high)");
  EXPECT_EQ(read_all("1640998800000,0,2,0,1.5,10,1641002399999,1,1,1,1,0\n").error,
            "k.csv:1: prices must be positive");
  EXPECT_EQ(read_all("1640998800000,1,2,0.5,1.5,10,1640998800000,1,1,1,1,0\n").error,
            "k.csv:1: close_time 1640998800000 is not after open_time 1640998800000");
  EXPECT_EQ(read_all(row1 + "\nopen_time,open\n").error,
            "k.csv:2: column 1 (open_time): not a number: 'open_time'");
}

TEST(KlineCsv, OnlyALetterStartsAHeader) {
  // A bad first row is an error like any other, not a header to drop silently.
  EXPECT_EQ(read_all("-1640995200000,1,2,0.5,1.5,10,1640998799999,1,1,1,1,0\n" + row2 + "\n").error,
            "k.csv:1: column 1 (open_time): not a number: '-1640995200000'");
  EXPECT_EQ(read_all(" 1640995200000,1,2,0.5,1.5,10,1640998799999,1,1,1,1,0\n").error,
            "k.csv:1: column 1 (open_time): not a number: ' 1640995200000'");
}

TEST(KlineCsv, TimestampsBeyondTheNanosecondRangeAreRefused) {
  EXPECT_EQ(read_all("9300000000000,1,2,0.5,1.5,10,9300000059999,1,1,1,1,0\n").error,
            "k.csv:1: open_time 9300000000000 or close_time 9300000059999 is out of range (after "
            "the year 2262)");
  EXPECT_EQ(read_all("1640995200000,1,2,0.5,1.5,10,16409951999990000000,1,1,1,1,0\n").error,
            "k.csv:1: column 7 (close_time): number out of range: '16409951999990000000'");
}

TEST(KlineCsv, SkipModeCountsAndKeepsGoing) {
  kline_reader_options o;
  o.skip_malformed = true;
  const auto r = read_all(row1 + "\ngarbage\n" + row2 + "\n", o);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_NE(r.messages[0].find(":2: "), std::string::npos) << r.messages[0];
}

TEST(KlineCsv, StreamsThroughASmallBuffer) {
  // 5000 rows through a 4 KiB buffer: every refill boundary falls somewhere inside a row.
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    const int64_t t = 1'640'995'200'000 + int64_t{i} * 60'000;
    text += std::to_string(t) + ",100." + std::to_string(i % 100) + ",101,99,100.5,1.25," +
            std::to_string(t + 59'999) + ",125.5," + std::to_string(i) + ",0.5,50.25,0\n";
  }
  kline_reader_options o;
  o.buffer_size = 4096;
  const auto r = read_all(text, o);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(r.rows[i].trade_count, i);
    ASSERT_EQ(r.rows[i].open,
              10'000'000'000 + int64_t{i % 100} * (i % 100 < 10 ? 10'000'000 : 1'000'000))
        << i;
    ASSERT_EQ(r.rows[i].line, static_cast<uint64_t>(i + 1));
  }
}

TEST(KlineCsv, OverlongLineIsAnErrorNotAHang) {
  kline_reader_options o;
  o.buffer_size = 4096;
  const auto r = read_all(std::string(10000, '1') + "\n", o);
  EXPECT_EQ(r.error, "k.csv:1: line longer than 4096 bytes");
}

// A row of about 100 bytes; `tail` is its last column (Binance's "ignore": any text but a comma).
std::string numbered_row(int i, const std::string& tail = "0") {
  const int64_t t = 1'640'995'200'000 + int64_t{i} * 60'000;
  return std::to_string(t) + ",100." + std::to_string(i % 100) + ",101,99,100.5,1.25," +
         std::to_string(t + 59'999) + ",125.5," + std::to_string(i) + ",0.5,50.25," + tail;
}

// Adds rows, each ended by `eol`, until the text is at least `bytes` long.
void add_rows(std::string& text, size_t bytes, int& i, const char* eol = "\n") {
  while (text.size() < bytes) text += numbered_row(i++) + eol;
}

// A row of exactly `n` bytes (its last column padded).
std::string row_of_length(int& i, size_t n) {
  std::string r = numbered_row(i++);
  r.pop_back();
  return r + std::string(n - r.size(), 'x');
}

// Adds one row whose newline lands at byte `at` (at least 200 bytes ahead).
void row_ending_at(std::string& text, size_t at, int& i) {
  ASSERT_GE(at, text.size() + 200);
  text += row_of_length(i, at - text.size()) + "\n";
  ASSERT_EQ(text[at], '\n');
}

// The windows read ahead in these tests: the first of 64 KiB, then 256 KiB each.
constexpr size_t test_window = 256u << 10;
constexpr size_t window_start(size_t k) {
  return k == 0 ? 0 : (64u << 10) + (k - 1) * test_window;
}

kline_reader_options ahead_options(kline_reader_options o = {}) {
  o.read_ahead_window = test_window;
  return o;
}

void expect_same_reading(const std::string& text, kline_reader_options o, const char* what) {
  SCOPED_TRACE(what);
  o.threads = 1;
  const read_result one = read_all(text, o);
  for (unsigned threads : {2u, 3u, 8u}) {
    o.threads = threads;
    bool ahead = false;
    const read_result many = read_all(text, o, &ahead);
    ASSERT_TRUE(ahead) << "the file is large enough to be read ahead";
    EXPECT_EQ(many.error, one.error);
    EXPECT_EQ(many.skipped, one.skipped);
    EXPECT_EQ(many.messages, one.messages);
    EXPECT_EQ(many.header, one.header);
    EXPECT_EQ(many.unit, one.unit);
    ASSERT_EQ(many.rows.size(), one.rows.size());
    for (size_t k = 0; k < one.rows.size(); ++k) {
      const kline_row &a = one.rows[k], &b = many.rows[k];
      ASSERT_TRUE(a.open_time_ns == b.open_time_ns && a.close_time_ns == b.close_time_ns &&
                  a.open == b.open && a.high == b.high && a.low == b.low && a.close == b.close &&
                  a.volume == b.volume && a.quote_volume == b.quote_volume &&
                  a.taker_buy_volume == b.taker_buy_volume &&
                  a.taker_buy_quote_volume == b.taker_buy_quote_volume &&
                  a.trade_count == b.trade_count && a.line == b.line)
          << "row " << k << " (line " << a.line << " against " << b.line << ")";
    }
  }
}

TEST(KlineCsv, ReadingAheadOnThreadsGivesTheSameRowsAndErrors) {
  {
    // A BOM, a header, CRLF, blank lines, a newline at the last byte of window 3 and one at the
    // first byte of window 5, a window of blank lines, and a last line without a newline.
    int i = 0;
    std::string text = "\xEF\xBB\xBF" + header + "\r\n";
    add_rows(text, 100'000, i, "\r\n");
    text += "\n\n";
    row_ending_at(text, window_start(4) - 1, i);
    add_rows(text, window_start(5) - 400, i);
    text += "\r\n";
    row_ending_at(text, window_start(5), i);
    text += std::string(test_window + 5000, '\n');
    add_rows(text, window_start(9), i);
    text += numbered_row(i++);
    expect_same_reading(text, ahead_options(), "clean");
    const read_result r = read_all(text, ahead_options());
    ASSERT_EQ(r.error, "");
    EXPECT_TRUE(r.header);
    EXPECT_EQ(r.rows.size(), static_cast<size_t>(i));
  }
  {
    // Bad rows in several windows: skipped and counted, or the first one stops the reading.
    int i = 0;
    std::string text;
    add_rows(text, 300'000, i);
    text += "1640995200000,1,2\n";
    add_rows(text, 600'000, i);
    std::string bad = numbered_row(i++);
    bad[20] = 'q';
    text += bad + "\n";
    add_rows(text, 900'000, i);
    text += "1640995200,1,1,1,1,1,1640995259,1,1,1,1,0\n";  // seconds in a file of milliseconds
    text += "Open_time,looks,like,a,header,but,is,not,line,one,x,y\n";
    add_rows(text, 1'500'000, i);
    const kline_reader_options skip = [] {
      kline_reader_options o = ahead_options();
      o.skip_malformed = true;
      return o;
    }();
    expect_same_reading(text, skip, "skipped");
    EXPECT_EQ(read_all(text, skip).skipped, 4u);
    expect_same_reading(text, ahead_options(), "stopped");
    EXPECT_NE(read_all(text, ahead_options()).error, "");
  }
  kline_reader_options small = ahead_options();
  small.buffer_size = 4096;
  {
    // Lines at the longest limit deep in the file: 4095 bytes are a line, 4096 are not.
    int i = 0;
    std::string text;
    add_rows(text, 700'000, i);
    text += row_of_length(i, 4095) + "\n";
    add_rows(text, 900'000, i);
    text += row_of_length(i, 4096) + "\n";
    add_rows(text, 1'500'000, i);
    expect_same_reading(text, small, "at the limit");
    const read_result r = read_all(text, small);
    std::string expected = "k.csv:";  // every line before it is a row
    expected += std::to_string(r.rows.size() + 1);
    expected += ": line longer than 4096 bytes";
    EXPECT_EQ(r.error, expected);
    // ... and as the last line, without a newline, in a file that ends on a window boundary.
    i = 0;
    text.clear();
    add_rows(text, window_start(6) - 4096 - 400, i);
    row_ending_at(text, window_start(6) - 4097, i);
    text += row_of_length(i, 4096);
    ASSERT_EQ(text.size(), window_start(6));
    expect_same_reading(text, small, "a long last line");
    EXPECT_NE(read_all(text, small).error.find("line longer than 4096"), std::string::npos);
    text.back() = '\n';  // 4095 bytes and a newline: a line, and a file that ends on the boundary
    expect_same_reading(text, small, "ends on a boundary");
    EXPECT_EQ(read_all(text, small).error, "");
  }
  {
    // A first line of 100 KiB after a BOM (longer than the first window); a CR on the last byte of
    // window 3 with its LF on the first of window 4; a blank line that starts window 6.
    int i = 0;
    std::string text = "\xEF\xBB\xBF" + numbered_row(i++, std::string(100'000, 'x')) + "\n";
    add_rows(text, window_start(4) - 400, i);
    row_ending_at(text, window_start(4) - 1, i);
    text.back() = '\r';
    text += "\n";
    add_rows(text, window_start(6) - 400, i);
    row_ending_at(text, window_start(6) - 1, i);
    text += "\n";
    add_rows(text, window_start(8), i);
    ASSERT_EQ(text[window_start(4) - 1], '\r');
    ASSERT_EQ(text[window_start(6)], '\n');
    expect_same_reading(text, ahead_options(), "edges");
    const read_result r = read_all(text, ahead_options());
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.rows.size(), static_cast<size_t>(i));
    // A line over the limit that runs across a window's end, with no newline for 100 KB.
    i = 0;
    text.clear();
    add_rows(text, window_start(3) - 400, i);
    row_ending_at(text, window_start(3) - 101, i);
    text += row_of_length(i, 100'000) + "\n";
    add_rows(text, window_start(6), i);
    expect_same_reading(text, small, "too long across an edge");
    EXPECT_NE(read_all(text, small).error.find("line longer than 4096"), std::string::npos);
  }
  {
    // A line longer than three windows.
    int i = 0;
    std::string text;
    add_rows(text, 200'000, i);
    text += numbered_row(i++, std::string(3 * test_window, 'x')) + "\n";
    add_rows(text, 1'800'000, i);
    expect_same_reading(text, ahead_options(), "a window inside one line");
  }
  {
    // The helper threads do parse windows (the caller parses those it reaches first).
    int i = 0;
    std::string text;
    add_rows(text, 3'000'000, i);
    kline_reader_options o = ahead_options();
    o.threads = 3;
    uint64_t by_helpers = 0;
    for (int attempt = 0; attempt < 50 && by_helpers == 0; ++attempt)
      by_helpers = read_all(text, o).helper_windows;
    EXPECT_GT(by_helpers, 0u);
  }
}

TEST(KlineCsv, MissingFile) {
  kline_csv_reader r("/nonexistent/k.csv");
  EXPECT_FALSE(r.open());
  EXPECT_EQ(r.error(), "/nonexistent/k.csv: cannot open: No such file or directory");
}

TEST(KlineCsv, EmptyFileHasNoRows) {
  const auto r = read_all("");
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.rows.empty());
}

}  // namespace
}  // namespace cats
