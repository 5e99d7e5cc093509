#include "cats/core/fixed.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <random>

namespace cats {
namespace {

int64_t parsed(std::string_view s) {
  int64_t v = -999;
  EXPECT_EQ(parse_fixed(s, v), parse_error::ok) << s;
  return v;
}

parse_error fails(std::string_view s) {
  int64_t v = 0;
  return parse_fixed(s, v);
}

TEST(Fixed, ParsesBinanceDecimalsExactly) {
  EXPECT_EQ(parsed("46216.93000000"), 4'621'693'000'000);
  EXPECT_EQ(parsed("42066.0"), 4'206'600'000'000);
  EXPECT_EQ(parsed("0.00000001"), 1);
  EXPECT_EQ(parsed("0"), 0);
  EXPECT_EQ(parsed(".5"), 50'000'000);
  EXPECT_EQ(parsed("7."), 700'000'000);
  EXPECT_EQ(parsed("-0.5"), -50'000'000);
  EXPECT_EQ(parsed("+12"), 1'200'000'000);
  // Zeros beyond the 8th decimal carry no information and are accepted.
  EXPECT_EQ(parsed("1.1234567800"), 112'345'678);
  // The largest value int64 holds at scale 10^8.
  EXPECT_EQ(parsed("92233720368.54775807"), INT64_MAX);
}

TEST(Fixed, RefusesWhatItCannotRepresent) {
  EXPECT_EQ(fails(""), parse_error::empty);
  EXPECT_EQ(fails("."), parse_error::empty);
  EXPECT_EQ(fails("-"), parse_error::empty);
  EXPECT_EQ(fails("1.123456789"), parse_error::too_many_decimals);
  EXPECT_EQ(fails("1e5"), parse_error::invalid_character);
  EXPECT_EQ(fails("12,5"), parse_error::invalid_character);
  EXPECT_EQ(fails("1.2.3"), parse_error::invalid_character);
  EXPECT_EQ(fails(" 1"), parse_error::invalid_character);
  EXPECT_EQ(fails("92233720369"), parse_error::out_of_range);
  EXPECT_EQ(fails("92233720368.54775808"), parse_error::out_of_range);
  EXPECT_STREQ(describe(parse_error::too_many_decimals), "more than 8 decimal places");
}

TEST(Fixed, FormatsWithoutTrailingZeros) {
  EXPECT_EQ(fixed_to_string(4'621'693'000'000), "46216.93");
  EXPECT_EQ(fixed_to_string(1), "0.00000001");
  EXPECT_EQ(fixed_to_string(-50'000'000), "-0.5");
  EXPECT_EQ(fixed_to_string(0), "0");
  EXPECT_EQ(fixed_to_string(INT64_MIN + 1), "-92233720368.54775807");
  EXPECT_EQ(fixed_to_string(123'456'789, 2), "1.23");
  EXPECT_EQ(fixed_to_string(125'000'000, 1), "1.3");  // ties away from zero
  EXPECT_EQ(fixed_to_string(-125'000'000, 1), "-1.3");
  EXPECT_EQ(fixed_to_string(5, 0), "0");
  EXPECT_EQ(fixed_to_string(-100'000'000, 2), "-1.00");
}

TEST(Fixed, RoundingModes) {
  EXPECT_EQ(div_round(7, 2, rounding::down), 3);
  EXPECT_EQ(div_round(-7, 2, rounding::down), -4);
  EXPECT_EQ(div_round(7, 2, rounding::up), 4);
  EXPECT_EQ(div_round(-7, 2, rounding::up), -3);
  EXPECT_EQ(div_round(-7, 2, rounding::toward_zero), -3);
  EXPECT_EQ(div_round(7, 2, rounding::nearest), 4);
  EXPECT_EQ(div_round(-7, 2, rounding::nearest), -4);
  EXPECT_EQ(div_round(5, 3, rounding::nearest), 2);
  EXPECT_EQ(div_round(4, 3, rounding::nearest), 1);
  EXPECT_EQ(div_round(6, -3, rounding::down), -2);
  // 1.23456 lots of 0.001 -> 1.234
  EXPECT_EQ(round_to_step(123'456'000, 100'000, rounding::down), 123'400'000);
  EXPECT_EQ(round_to_step(100'050'001, 1'000'000, rounding::up), 101'000'000);
}

// fixed_mul's 64-bit path against the plain 128-bit product and division, in every rounding mode,
// over values of every size and sign (the limits included).
TEST(Fixed, MultiplyAgreesWithThe128BitDivisionEverywhere) {
  std::mt19937_64 rng(20261205);
  const int64_t edges[] = {0,
                           1,
                           -1,
                           99'999'999,
                           -99'999'999,
                           100'000'000,
                           -100'000'000,
                           150'000'000,
                           -150'000'000,
                           4'200'012'345'678,
                           92'233'720'368,
                           -92'233'720'369,
                           INT64_MAX,
                           INT64_MIN,
                           INT64_MAX / 3,
                           INT64_MIN / 7};
  auto draw = [&]() -> int64_t {
    const int bits = static_cast<int>(rng() % 64);
    int64_t v = static_cast<int64_t>(rng() >> (63 - bits) >> 1);
    if (rng() % 2 == 0) v = -v;
    return rng() % 16 == 0 ? edges[rng() % std::size(edges)] : v;
  };
  const rounding modes[] = {rounding::toward_zero, rounding::down, rounding::up, rounding::nearest};
  for (int i = 0; i < 2'000'000; ++i) {
    const int64_t a = draw(), b = draw();
    const rounding m = modes[i % 4];
    const auto want = static_cast<int64_t>(div_round(static_cast<int128_t>(a) * b, fixed_scale, m));
    ASSERT_EQ(fixed_mul(a, b, m), want) << a << " x " << b << " mode " << i % 4;
  }
  // Ties: 0.5 units round away from zero to nearest, and as told otherwise.
  EXPECT_EQ(fixed_mul(1, 50'000'000, rounding::nearest), 1);
  EXPECT_EQ(fixed_mul(-1, 50'000'000, rounding::nearest), -1);
  EXPECT_EQ(fixed_mul(-1, 50'000'000, rounding::down), -1);
  EXPECT_EQ(fixed_mul(-1, 50'000'000, rounding::up), 0);
}

TEST(Fixed, MultiplyAndDivideExactly) {
  // 0.00001 BTC x 46216.93 = 0.4621693 USDT, no rounding needed.
  EXPECT_EQ(fixed_mul(1'000, 4'621'693'000'000, rounding::nearest), 46'216'930);
  // 100.05 x 0.001 = 0.10005
  EXPECT_EQ(fixed_mul(10'005'000'000, 100'000, rounding::up), 10'005'000);
  // 1 / 3 = 0.33333333 (down) or 0.33333334 (up)
  EXPECT_EQ(fixed_div(100'000'000, 300'000'000, rounding::down), 33'333'333);
  EXPECT_EQ(fixed_div(100'000'000, 300'000'000, rounding::up), 33'333'334);
  // Products beyond 64 bits are fine through the 128-bit intermediate.
  EXPECT_EQ(fixed_mul(9'000'000'000'000'000'000, 100'000'000, rounding::nearest),
            9'000'000'000'000'000'000);
}

TEST(Fixed, FromDouble) {
  int64_t v = 0;
  ASSERT_TRUE(fixed_from_double(0.01, v));
  EXPECT_EQ(v, 1'000'000);
  ASSERT_TRUE(fixed_from_double(-2.5, v));
  EXPECT_EQ(v, -250'000'000);
  EXPECT_FALSE(fixed_from_double(1e300, v));
  EXPECT_FALSE(fixed_from_double(std::numeric_limits<double>::quiet_NaN(), v));
}

}  // namespace
}  // namespace cats
