#include "cats/util/time.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "cats/util/cpu.hpp"

namespace cats {
namespace {

TEST(Time, FormatsUtc) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00Z");
  // 1640995200000 ms is the first bar of binance BTCUSDT-1h-2022-01.
  EXPECT_EQ(format_iso8601(1'640'995'200'000 * ns_per_ms), "2022-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(1'643'673'599'999 * ns_per_ms), "2022-01-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(1'709'164'800 * ns_per_s), "2024-02-29T00:00:00Z");  // leap day
  EXPECT_EQ(format_iso8601(951'782'400 * ns_per_s), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_iso8601(1'735'689'600 * ns_per_s + 5), "2025-01-01T00:00:00.000000005Z");
}

TEST(Time, ParsesDatesAndDateTimes) {
  EXPECT_EQ(parse_iso8601("2022-01-01"), 1'640'995'200 * ns_per_s);
  EXPECT_EQ(parse_iso8601("2024-02-29T12:30:15Z"),
            (1'709'164'800 + 12 * 3600 + 30 * 60 + 15) * ns_per_s);
  EXPECT_EQ(parse_iso8601("2024-02-29 12:30"), (1'709'164'800 + 12 * 3600 + 30 * 60) * ns_per_s);
  EXPECT_FALSE(parse_iso8601("2024-13-01"));
  EXPECT_FALSE(parse_iso8601("2024-01-01T25:00"));
  EXPECT_FALSE(parse_iso8601("yesterday"));
  EXPECT_FALSE(parse_iso8601("2024-01-01x"));
  // Years whose nanoseconds do not fit in int64 are refused, not overflowed (found by fuzzing).
  EXPECT_FALSE(parse_iso8601("9024-01-01"));
  EXPECT_FALSE(parse_iso8601("0001-01-01"));
  EXPECT_TRUE(parse_iso8601("2261-12-31T23:59:59Z"));
  EXPECT_TRUE(parse_iso8601("1678-01-01"));
}

TEST(Time, DaysFromCivilRoundTrips) {
  for (int64_t d = -100'000; d <= 100'000; d += 97) {
    const civil_time c = to_civil(d * ns_per_day);
    EXPECT_EQ(days_from_civil(c.year, c.month, c.day), d);
  }
}

TEST(Time, Intervals) {
  EXPECT_EQ(format_interval(60 * ns_per_s), "1m");
  EXPECT_EQ(format_interval(3600 * ns_per_s), "1h");
  EXPECT_EQ(format_interval(4 * 3600 * ns_per_s), "4h");
  EXPECT_EQ(format_interval(ns_per_day), "1d");
  EXPECT_EQ(format_interval(90 * ns_per_s), "90s");
  EXPECT_EQ(format_duration(ns_per_day + 3661 * ns_per_s), "1d 01:01:01");
}

TEST(Time, ParsesBarIntervalsWithinTheirLimits) {
  EXPECT_EQ(parse_interval("1m"), 60 * ns_per_s);
  EXPECT_EQ(parse_interval("15m"), 900 * ns_per_s);
  EXPECT_EQ(parse_interval("4h"), 4 * 3600 * ns_per_s);
  EXPECT_EQ(parse_interval("1w"), 7 * ns_per_day);
  EXPECT_EQ(parse_interval("10000000s"), 10'000'000 * ns_per_s);  // 10^7 units at most
  EXPECT_EQ(parse_interval("3653d"), 3653 * ns_per_day);          // ten years at most
  for (const char* bad : {"", "m", "0m", "1.5m", "500ms", "1x", "10000001s", "3654d",
                          "99999999999999999999999m", "-1m", "1 m"})
    EXPECT_FALSE(parse_interval(bad)) << bad;
}

TEST(Time, OneDurationParserServesEveryCaller) {
  const duration_rules small{duration_h, false, false, false, INT64_MAX, 3 * 3600 * ns_per_s};
  EXPECT_EQ(parse_duration("3h", small), 3 * 3600 * ns_per_s);
  EXPECT_FALSE(parse_duration("5h", small));    // over max_ns in a single digit
  EXPECT_FALSE(parse_duration("1.5h", small));  // no fractions
  const duration_rules fine{duration_ns | duration_s, true, true, false, INT64_MAX, INT64_MAX};
  EXPECT_EQ(parse_duration("0", fine), 0);
  EXPECT_EQ(parse_duration("9223372036854775807ns", fine), INT64_MAX);
  EXPECT_FALSE(parse_duration("9223372036854775808ns", fine));
  EXPECT_EQ(parse_duration("9223372036.854775807s", fine), INT64_MAX);
  EXPECT_FALSE(parse_duration("9223372036.854775808s", fine));
}

// live.busy_poll's rule: a core for every polling thread, the engine thread and the rest.
TEST(Cpu, BusyPollingNeedsACoreForTheEngineThreadToo) {
  std::string why;
  EXPECT_TRUE(busy_polling_fits(1, 3, why));
  EXPECT_TRUE(busy_polling_fits(2, 4, why));
  EXPECT_TRUE(why.empty());
  EXPECT_FALSE(busy_polling_fits(1, 2, why));
  EXPECT_EQ(why,
            "1 polling thread(s) need a core each, plus one for the engine thread and one for the "
            "rest of the machine: 3 cores, this process may use 2 (with fewer, polling makes "
            "latency worse, not better)");
  EXPECT_FALSE(busy_polling_fits(2, 3, why));
  EXPECT_GE(usable_cores(), 1u);
  // The memory: never more than the machine has, and not nothing.
  const uint64_t physical = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                            static_cast<uint64_t>(::sysconf(_SC_PAGE_SIZE));
  EXPECT_LE(usable_memory(), physical);
  EXPECT_GT(usable_memory(), uint64_t{64} << 20);
}

}  // namespace
}  // namespace cats
