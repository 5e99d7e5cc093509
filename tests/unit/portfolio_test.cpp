#include "cats/core/portfolio.hpp"

#include <gtest/gtest.h>

namespace cats {
namespace {

constexpr int64_t U = fixed_scale;  // one unit
constexpr int64_t cents(int64_t c) {
  return c * U / 100;
}

TEST(Portfolio, LongRoundTripByHand) {
  portfolio p(10'000 * U, "USDT");
  EXPECT_FALSE(p.apply_fill(1, +1, 1 * U, 100 * U, cents(10), 1));
  EXPECT_EQ(p.cash(), 10'000 * U - 100 * U - cents(10));  // 9899.90
  EXPECT_EQ(p.position(1).quantity, U);
  EXPECT_EQ(p.position(1).avg_entry_price(), 100 * U);
  EXPECT_EQ(p.equity(), 9'999 * U + cents(90));
  EXPECT_TRUE(p.has_exposure());

  p.mark(1, 110 * U);
  EXPECT_EQ(p.equity(), 10'009 * U + cents(90));
  EXPECT_EQ(p.position(1).unrealized_pnl(), 10 * U);

  const auto t = p.apply_fill(1, -1, 1 * U, 110 * U, cents(11), 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->direction, 1);
  EXPECT_EQ(t->entry_ts_ns, 1);
  EXPECT_EQ(t->exit_ts_ns, 2);
  EXPECT_EQ(t->entry_price, 100 * U);
  EXPECT_EQ(t->exit_price, 110 * U);
  EXPECT_EQ(t->fees, cents(21));
  EXPECT_EQ(t->pnl, 9 * U + cents(79));  // 10 - 0.10 - 0.11
  EXPECT_DOUBLE_EQ(t->return_pct, 9.79);
  EXPECT_EQ(p.cash(), 10'009 * U + cents(79));
  EXPECT_EQ(p.equity(), p.cash());
  EXPECT_EQ(p.position(1).realized_pnl, 9 * U + cents(79));
  EXPECT_EQ(p.fees_paid(), cents(21));
  EXPECT_FALSE(p.has_exposure());
}

TEST(Portfolio, FlipClosesOneTradeAndOpensAnother) {
  portfolio p(10'000 * U, "USDT");
  p.apply_fill(1, +1, 1 * U, 100 * U, cents(10), 1);
  // Sell 3 at 90: closes the long 1 (fee share 0.09) and opens a short 2 (fee share 0.18).
  const auto first = p.apply_fill(1, -1, 3 * U, 90 * U, cents(27), 2);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->pnl, -(10 * U + cents(19)));
  EXPECT_EQ(first->fees, cents(19));
  EXPECT_EQ(p.position(1).quantity, -2 * U);
  EXPECT_EQ(p.position(1).avg_entry_price(), 90 * U);
  EXPECT_EQ(p.cash(), 10'169 * U + cents(63));
  // Still marked at the last market price (100), not at our own fill.
  EXPECT_EQ(p.equity(), 9'969 * U + cents(63));
  p.mark(1, 90 * U);
  EXPECT_EQ(p.equity(), 9'989 * U + cents(63));  // 10000 - 10.19 - 0.18

  p.mark(1, 85 * U);
  EXPECT_EQ(p.position(1).unrealized_pnl(), 10 * U);  // short 2 from 90 to 85

  const auto second = p.apply_fill(1, +1, 2 * U, 80 * U, cents(16), 3);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->direction, -1);
  EXPECT_EQ(second->entry_price, 90 * U);
  EXPECT_EQ(second->exit_price, 80 * U);
  EXPECT_EQ(second->pnl, 19 * U + cents(66));  // 20 - 0.18 - 0.16
  EXPECT_EQ(second->max_quantity, 2 * U);
  EXPECT_NEAR(second->return_pct, 19.66 / 180.0 * 100.0, 1e-12);
  EXPECT_EQ(p.equity(), 10'000 * U - (10 * U + cents(19)) + 19 * U + cents(66));
  EXPECT_EQ(p.equity(), p.cash());
}

TEST(Portfolio, PartialClosesUseAverageCost) {
  portfolio p(1'000 * U, "USDT");
  p.apply_fill(1, +1, 1 * U, 100 * U, 0, 1);
  p.apply_fill(1, +1, 1 * U, 120 * U, 0, 2);
  EXPECT_EQ(p.position(1).avg_entry_price(), 110 * U);
  EXPECT_FALSE(p.apply_fill(1, -1, 1 * U, 130 * U, 0, 3));
  EXPECT_EQ(p.position(1).realized_pnl, 20 * U);
  EXPECT_EQ(p.position(1).avg_entry_price(), 110 * U);
  const auto t = p.apply_fill(1, -1, 1 * U, 100 * U, 0, 4);
  ASSERT_TRUE(t);
  EXPECT_EQ(p.position(1).realized_pnl, 10 * U);
  EXPECT_EQ(t->pnl, 10 * U);
  EXPECT_EQ(t->entry_price, 110 * U);
  EXPECT_EQ(t->exit_price, 115 * U);
  EXPECT_EQ(t->max_quantity, 2 * U);
  EXPECT_EQ(p.cash(), 1'010 * U);
}

TEST(Portfolio, ShortMarksAndGrossExposure) {
  portfolio p(1'000 * U, "USDT");
  p.apply_fill(1, -1, 2 * U, 50 * U, 0, 1);
  p.apply_fill(2, +1, 1 * U, 30 * U, 0, 1);
  p.mark(1, 40 * U);
  EXPECT_EQ(p.position(1).unrealized_pnl(), 20 * U);
  EXPECT_EQ(p.gross_exposure(), 80 * U + 30 * U);
  EXPECT_EQ(p.equity(), 1'000 * U + 20 * U);
  EXPECT_EQ(p.position(7).quantity, 0);  // never traded
}

TEST(Portfolio, CashAlwaysReconcilesWithPnl) {
  // Fractional quantities and prices: the realized PnL of each closed trade plus fees equals the
  // cash change exactly.
  portfolio p(5'000 * U, "USDT");
  const int64_t q = 123'457;  // 0.00123457
  p.apply_fill(1, +1, q, 4'621'693'123'456, 5'703, 1);
  const auto t = p.apply_fill(1, -1, q, 4'700'000'000'001, 5'802, 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(p.cash() - 5'000 * U, t->pnl);
}

}  // namespace
}  // namespace cats
