// CATS strategy SDK — header-only C++ layer over the C ABI in cats/sdk.h.
//
// Everything in this header is compiled into the plugin, so it may use the standard library and
// exceptions freely: nothing C++ ever crosses the boundary. Every exception is caught at the
// boundary and turned into a status code plus the instance's last-error message.
//
// A strategy derives from cats::strategy, overrides the callbacks it needs and exports itself with
// one macro:
//
//   class my_strategy final : public cats::strategy {
//    public:
//     static constexpr cats::param_spec params[] = {
//         {"window", CATS_PARAM_INT, "20", "bars in the moving average"},
//     };
//     my_strategy(cats::context& ctx, const cats::params& p) : strategy(ctx) { ... }
//     void on_bar(const cats::bar& b) override { ... }
//   };
//   CATS_EXPORT_STRATEGY(my_strategy, "my_strategy", "1.0.0", "what it does")
//
// The plugin states the ABI minor version of this SDK, so it loads into hosts of this version or
// newer. To load into older hosts too, a strategy states the oldest minor it needs, as a public
// member (a private one is not seen, and the SDK's minor is stated):
//
//     static constexpr uint32_t abi_minor = 1;  // books (1.1); no amend or stops (1.2)
//
// The host then treats it as a plugin of that version (a plugin of minor 0 is never sent book
// events), and the calls an older host lacks fail cleanly: amend() returns false and
// last_error() says why; a stop or post-only submit() throws cats::error(CATS_E_UNSUPPORTED).
#ifndef CATS_STRATEGY_HPP
#define CATS_STRATEGY_HPP

#include <cats/sdk.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace cats {

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

/// An error with a status code. Throw it from a callback to fail with a specific code.
class error : public std::runtime_error {
 public:
  explicit error(const std::string& what, cats_status_t status = CATS_E_FAILED)
      : std::runtime_error(what), status_(status) {}
  cats_status_t status() const noexcept { return status_; }

 private:
  cats_status_t status_;
};

/// Thrown by load_state for a state the strategy does not understand.
class bad_state : public error {
 public:
  explicit bad_state(const std::string& what) : error(what, CATS_E_BAD_STATE) {}
};

inline std::string_view to_string_view(cats_str_t s) noexcept {
  return s.size == 0 ? std::string_view{} : std::string_view(s.data, static_cast<size_t>(s.size));
}
inline cats_str_t to_cats_str(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

// ------------------------------------------------------------------------------------------------
// Fixed-point value (8 decimals), the unit of every price, quantity and amount.
// ------------------------------------------------------------------------------------------------

class fixed {
 public:
  static constexpr int64_t scale = CATS_FIXED_SCALE;

  constexpr fixed() noexcept = default;
  static constexpr fixed from_raw(int64_t raw) noexcept { return fixed(raw); }
  /// Nearest representable value; NaN and out-of-range inputs throw.
  static fixed from_double(double v) {
    const double scaled = std::nearbyint(v * static_cast<double>(scale));
    if (!(std::fabs(scaled) < 9.2e18)) throw error("fixed::from_double: value out of range");
    return fixed(static_cast<int64_t>(scaled));
  }
  static constexpr fixed from_int(int64_t units) noexcept { return fixed(units * scale); }

  constexpr int64_t raw() const noexcept { return raw_; }
  constexpr double to_double() const noexcept {
    return static_cast<double>(raw_) / static_cast<double>(scale);
  }
  constexpr bool is_zero() const noexcept { return raw_ == 0; }

  /// Rounds toward zero to a multiple of `step` (a lot size or tick size); step <= 0 is a no-op.
  constexpr fixed truncate_to(fixed step) const noexcept {
    return step.raw_ <= 0 ? *this : fixed(raw_ / step.raw_ * step.raw_);
  }

  /// Exact decimal text, trailing zeros removed ("0.5", "-12", "0.00000001").
  std::string to_string() const {
    const bool neg = raw_ < 0;
    const uint64_t mag = neg ? 0 - static_cast<uint64_t>(raw_) : static_cast<uint64_t>(raw_);
    std::string out;
    if (neg) out += '-';
    out += std::to_string(mag / scale);
    uint64_t frac = mag % scale;
    if (frac != 0) {
      char digits[9] = "00000000";
      for (int i = 7; i >= 0; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
      int len = 8;
      while (digits[len - 1] == '0') --len;
      out += '.';
      out.append(digits, static_cast<size_t>(len));
    }
    return out;
  }

  friend constexpr bool operator==(fixed a, fixed b) noexcept { return a.raw_ == b.raw_; }
  friend constexpr auto operator<=>(fixed a, fixed b) noexcept { return a.raw_ <=> b.raw_; }
  friend constexpr fixed operator+(fixed a, fixed b) noexcept { return fixed(a.raw_ + b.raw_); }
  friend constexpr fixed operator-(fixed a, fixed b) noexcept { return fixed(a.raw_ - b.raw_); }
  constexpr fixed operator-() const noexcept { return fixed(-raw_); }

 private:
  constexpr explicit fixed(int64_t raw) noexcept : raw_(raw) {}
  int64_t raw_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, fixed f) {
  return os << f.to_string();
}

// ------------------------------------------------------------------------------------------------
// Event views. Cheap wrappers over the borrowed C structs; valid for the callback only.
// ------------------------------------------------------------------------------------------------

class bar {
 public:
  explicit bar(const cats_bar_event_t& e) noexcept : e_(&e) {}
  uint32_t instrument_id() const noexcept { return e_->header.instrument_id; }
  /// End of the interval: the moment the bar closed.
  int64_t time_ns() const noexcept { return e_->header.exchange_ts_ns; }
  int64_t open_time_ns() const noexcept { return e_->open_time_ns; }
  int64_t interval_ns() const noexcept { return e_->interval_ns; }
  fixed open() const noexcept { return fixed::from_raw(e_->open); }
  fixed high() const noexcept { return fixed::from_raw(e_->high); }
  fixed low() const noexcept { return fixed::from_raw(e_->low); }
  fixed close() const noexcept { return fixed::from_raw(e_->close); }
  fixed volume() const noexcept { return fixed::from_raw(e_->volume); }
  fixed quote_volume() const noexcept { return fixed::from_raw(e_->quote_volume); }
  fixed taker_buy_volume() const noexcept { return fixed::from_raw(e_->taker_buy_volume); }
  int64_t trade_count() const noexcept { return e_->trade_count; }
  const cats_bar_event_t& raw() const noexcept { return *e_; }

 private:
  const cats_bar_event_t* e_;
};

class trade {
 public:
  explicit trade(const cats_trade_event_t& e) noexcept : e_(&e) {}
  uint32_t instrument_id() const noexcept { return e_->header.instrument_id; }
  int64_t time_ns() const noexcept { return e_->header.exchange_ts_ns; }
  fixed price() const noexcept { return fixed::from_raw(e_->price); }
  fixed quantity() const noexcept { return fixed::from_raw(e_->quantity); }
  uint64_t trade_id() const noexcept { return e_->trade_id; }
  cats_side aggressor_side() const noexcept { return static_cast<cats_side>(e_->aggressor_side); }
  const cats_trade_event_t& raw() const noexcept { return *e_; }

 private:
  const cats_trade_event_t* e_;
};

class quote {
 public:
  explicit quote(const cats_quote_event_t& e) noexcept : e_(&e) {}
  uint32_t instrument_id() const noexcept { return e_->header.instrument_id; }
  int64_t time_ns() const noexcept { return e_->header.exchange_ts_ns; }
  fixed bid_price() const noexcept { return fixed::from_raw(e_->bid_price); }
  fixed bid_quantity() const noexcept { return fixed::from_raw(e_->bid_quantity); }
  fixed ask_price() const noexcept { return fixed::from_raw(e_->ask_price); }
  fixed ask_quantity() const noexcept { return fixed::from_raw(e_->ask_quantity); }
  const cats_quote_event_t& raw() const noexcept { return *e_; }

 private:
  const cats_quote_event_t* e_;
};

/// An order-book change (ABI 1.1): the book after the update, best levels first.
class book {
 public:
  explicit book(const cats_book_event_t& e) noexcept : e_(&e) {}
  uint32_t instrument_id() const noexcept { return e_->header.instrument_id; }
  int64_t time_ns() const noexcept { return e_->header.exchange_ts_ns; }
  /// The book was rebuilt from a snapshot (forget earlier state).
  bool is_snapshot() const noexcept { return (e_->book_flags & CATS_BOOK_FLAG_SNAPSHOT) != 0; }
  /// The snapshot follows a gap, checksum failure or reconnect.
  bool is_resync() const noexcept { return (e_->book_flags & CATS_BOOK_FLAG_RESYNC) != 0; }
  uint64_t sequence() const noexcept { return e_->sequence; }
  std::span<const cats_book_level_t> bids() const noexcept { return {e_->bids, e_->bid_count}; }
  std::span<const cats_book_level_t> asks() const noexcept { return {e_->asks, e_->ask_count}; }
  std::span<const cats_book_level_t> bid_changes() const noexcept {
    return {e_->bid_changes, e_->bid_change_count};
  }
  std::span<const cats_book_level_t> ask_changes() const noexcept {
    return {e_->ask_changes, e_->ask_change_count};
  }
  /// Best bid/ask price; zero when that side is empty.
  fixed best_bid() const noexcept {
    return fixed::from_raw(e_->bid_count != 0 ? e_->bids[0].price : 0);
  }
  fixed best_ask() const noexcept {
    return fixed::from_raw(e_->ask_count != 0 ? e_->asks[0].price : 0);
  }
  const cats_book_event_t& raw() const noexcept { return *e_; }

 private:
  const cats_book_event_t* e_;
};

class order_update {
 public:
  explicit order_update(const cats_order_update_event_t& e) noexcept : e_(&e) {}
  uint32_t instrument_id() const noexcept { return e_->header.instrument_id; }
  int64_t time_ns() const noexcept { return e_->header.exchange_ts_ns; }
  uint64_t order_id() const noexcept { return e_->order_id; }
  uint64_t client_tag() const noexcept { return e_->client_tag; }
  cats_side side() const noexcept { return static_cast<cats_side>(e_->side); }
  cats_order_status status() const noexcept { return static_cast<cats_order_status>(e_->status); }
  fixed quantity() const noexcept { return fixed::from_raw(e_->quantity); }
  fixed filled_quantity() const noexcept { return fixed::from_raw(e_->filled_quantity); }
  fixed avg_fill_price() const noexcept { return fixed::from_raw(e_->avg_fill_price); }
  fixed limit_price() const noexcept { return fixed::from_raw(e_->limit_price); }
  cats_order_type order_type() const noexcept {
    return static_cast<cats_order_type>(e_->order_type);
  }
  cats_time_in_force time_in_force() const noexcept {
    return static_cast<cats_time_in_force>(e_->time_in_force);
  }
  /// The trigger price of a stop-market order (ABI 1.2; 0 from an older host or for other types).
  fixed stop_price() const noexcept { return fixed::from_raw(e_->stop_price); }
  std::string_view reason() const noexcept { return to_string_view(e_->reason); }
  bool is_terminal() const noexcept {
    return e_->status == CATS_ORDER_FILLED || e_->status == CATS_ORDER_CANCELED ||
           e_->status == CATS_ORDER_REJECTED;
  }
  const cats_order_update_event_t& raw() const noexcept { return *e_; }

 private:
  const cats_order_update_event_t* e_;
};

class fill {
 public:
  explicit fill(const cats_fill_event_t& e) noexcept : e_(&e) {}
  uint32_t instrument_id() const noexcept { return e_->header.instrument_id; }
  int64_t time_ns() const noexcept { return e_->header.exchange_ts_ns; }
  uint64_t order_id() const noexcept { return e_->order_id; }
  uint64_t client_tag() const noexcept { return e_->client_tag; }
  cats_side side() const noexcept { return static_cast<cats_side>(e_->side); }
  fixed price() const noexcept { return fixed::from_raw(e_->price); }
  fixed quantity() const noexcept { return fixed::from_raw(e_->quantity); }
  fixed fee() const noexcept { return fixed::from_raw(e_->fee); }
  fixed position_after() const noexcept { return fixed::from_raw(e_->position_after); }
  const cats_fill_event_t& raw() const noexcept { return *e_; }

 private:
  const cats_fill_event_t* e_;
};

class timer {
 public:
  explicit timer(const cats_timer_event_t& e) noexcept : e_(&e) {}
  int64_t time_ns() const noexcept { return e_->header.exchange_ts_ns; }
  uint64_t timer_id() const noexcept { return e_->timer_id; }
  uint64_t user_data() const noexcept { return e_->user_data; }
  int64_t scheduled_ns() const noexcept { return e_->scheduled_ts_ns; }
  const cats_timer_event_t& raw() const noexcept { return *e_; }

 private:
  const cats_timer_event_t* e_;
};

// ------------------------------------------------------------------------------------------------
// Values returned by the host (copied, so they outlive the call).
// ------------------------------------------------------------------------------------------------

struct instrument {
  uint32_t id = 0;
  std::string symbol, venue, base, quote;
  fixed tick_size, lot_size, min_quantity, min_notional;

  /// Rounds a quantity down to the lot size.
  fixed round_quantity(fixed q) const noexcept { return q.truncate_to(lot_size); }
};

struct position {
  uint32_t instrument_id = 0;
  fixed quantity, avg_entry_price, realized_pnl, unrealized_pnl, mark_price;
  bool is_flat() const noexcept { return quantity.is_zero(); }
  bool is_long() const noexcept { return quantity > fixed(); }
  bool is_short() const noexcept { return quantity < fixed(); }
};

struct account {
  fixed cash, equity, fees_paid;
  std::string currency;
};

/// An order request; build it with the named helpers on context or fill it in directly.
struct order_request {
  uint32_t instrument_id = 0;
  cats_side side = CATS_SIDE_BUY;
  cats_order_type type = CATS_ORDER_MARKET;
  cats_time_in_force time_in_force = CATS_TIF_GTC;
  fixed quantity;
  fixed limit_price;
  uint64_t client_tag = 0;
  fixed stop_price{};  ///< stop-market orders (ABI 1.2)
  /// Why the order is sent, at most 64 printable bytes (ABI 1.4; an older host never sees it):
  /// the trade table's entry reason of the trade it opens, the exit reason of the one it closes.
  std::string_view reason{};
};

/// Bar intervals for subscribe_bars and the resampler, in nanoseconds (n up to 100 000 days).
inline constexpr int64_t seconds(int64_t n) noexcept {
  return n * 1'000'000'000;
}
inline constexpr int64_t minutes(int64_t n) noexcept {
  return n * 60'000'000'000;
}
inline constexpr int64_t hours(int64_t n) noexcept {
  return n * 3'600'000'000'000;
}
inline constexpr int64_t days(int64_t n) noexcept {
  return n * 86'400'000'000'000;
}

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

/// Declaration of one parameter; a strategy lists them in `static constexpr param_spec params[]`.
struct param_spec {
  const char* name;
  cats_param_type type;
  const char* default_value;  ///< TOML literal; "" makes the parameter required
  const char* description;
};

/// The parameters of an instance, as validated and completed with defaults by the host.
class params {
 public:
  params() = default;
  explicit params(const cats_params_t* p) {
    // Items are read with the host's stride and never beyond it: a shorter (older) item leaves
    // the fields it lacks zero.
    if (p == nullptr || p->items == nullptr || p->item_size < sizeof(cats_str_t) + 4) return;
    const auto* base = reinterpret_cast<const unsigned char*>(p->items);
    for (uint32_t i = 0; i < p->count; ++i) {
      cats_param_value_t v{};
      std::memcpy(&v, base + size_t{i} * p->item_size,
                  std::min<size_t>(p->item_size, sizeof(cats_param_value_t)));
      value val;
      val.type = static_cast<cats_param_type>(v.type);
      val.b = v.bool_value != 0;
      val.i = v.int_value;
      val.f = v.float_value;
      val.s = std::string(to_string_view(v.string_value));
      values_.emplace_back(std::string(to_string_view(v.name)), std::move(val));
    }
  }

  bool has(std::string_view name) const noexcept { return find(name) != nullptr; }

  int64_t get_int(std::string_view name) const {
    const value& v = require(name);
    if (v.type != CATS_PARAM_INT) throw mismatch(name, "an integer");
    return v.i;
  }
  double get_float(std::string_view name) const {
    const value& v = require(name);
    if (v.type == CATS_PARAM_FLOAT) return v.f;
    if (v.type == CATS_PARAM_INT) return static_cast<double>(v.i);
    throw mismatch(name, "a number");
  }
  bool get_bool(std::string_view name) const {
    const value& v = require(name);
    if (v.type != CATS_PARAM_BOOL) throw mismatch(name, "a boolean");
    return v.b;
  }
  std::string get_string(std::string_view name) const {
    const value& v = require(name);
    if (v.type != CATS_PARAM_STRING) throw mismatch(name, "a string");
    return v.s;
  }
  int64_t get_int(std::string_view name, int64_t fallback) const {
    return has(name) ? get_int(name) : fallback;
  }
  double get_float(std::string_view name, double fallback) const {
    return has(name) ? get_float(name) : fallback;
  }
  bool get_bool(std::string_view name, bool fallback) const {
    return has(name) ? get_bool(name) : fallback;
  }
  std::string get_string(std::string_view name, std::string fallback) const {
    return has(name) ? get_string(name) : std::move(fallback);
  }

 private:
  struct value {
    cats_param_type type = CATS_PARAM_STRING;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;
  };
  const value* find(std::string_view name) const noexcept {
    for (const auto& [k, v] : values_)
      if (k == name) return &v;
    return nullptr;
  }
  const value& require(std::string_view name) const {
    if (const value* v = find(name)) return *v;
    throw error("parameter '" + std::string(name) + "' is missing", CATS_E_INVALID_ARGUMENT);
  }
  static error mismatch(std::string_view name, const char* expected) {
    return error("parameter '" + std::string(name) + "' is not " + expected,
                 CATS_E_INVALID_ARGUMENT);
  }
  std::vector<std::pair<std::string, value>> values_;
};

// ------------------------------------------------------------------------------------------------
// The host, as the strategy sees it.
// ------------------------------------------------------------------------------------------------

class context {
 public:
  context(const cats_host_api_t* api, cats_host_t* host) noexcept : api_(api), host_(host) {}
  /// The host's ABI version, from its API table.
  uint32_t host_abi_minor() const noexcept { return api_->abi_minor; }

  int64_t now_ns() const noexcept { return call()->now_ns(host_); }

  void log(cats_log_level level, std::string_view message) const noexcept {
    call()->log(host_, level, to_cats_str(message));
  }
  /// Logs its arguments concatenated with operator<< (fixed values print exactly).
  template <class... Args>
  void debug(const Args&... args) const {
    log(CATS_LOG_DEBUG, concat(args...));
  }
  template <class... Args>
  void info(const Args&... args) const {
    log(CATS_LOG_INFO, concat(args...));
  }
  template <class... Args>
  void warn(const Args&... args) const {
    log(CATS_LOG_WARN, concat(args...));
  }
  template <class... Args>
  void error(const Args&... args) const {
    log(CATS_LOG_ERROR, concat(args...));
  }

  /// The instrument called `symbol` ("BINANCE:BTCUSDT", or "BTCUSDT" when unambiguous).
  instrument find_instrument(std::string_view symbol) const {
    cats_instrument_t out{};
    out.struct_size = sizeof out;
    check(call()->find_instrument(host_, to_cats_str(symbol), &out), "find_instrument");
    return convert(out);
  }
  std::optional<instrument> try_find_instrument(std::string_view symbol) const {
    cats_instrument_t out{};
    out.struct_size = sizeof out;
    if (call()->find_instrument(host_, to_cats_str(symbol), &out) != CATS_OK) return std::nullopt;
    return convert(out);
  }
  instrument get_instrument(uint32_t instrument_id) const {
    cats_instrument_t out{};
    out.struct_size = sizeof out;
    check(call()->get_instrument(host_, instrument_id, &out), "get_instrument");
    return convert(out);
  }

  /// Submits an order and returns its id; throws cats::error if the host refuses it outright
  /// (CATS_E_UNSUPPORTED for a stop or post-only order on a host older than ABI 1.2, which would
  /// not understand it).
  uint64_t submit(const order_request& r) const {
    if ((r.type == CATS_ORDER_STOP_MARKET || r.time_in_force == CATS_TIF_POST_ONLY) &&
        host_abi_minor() < 2) {
      local_error_ = "stop-market and post-only orders need a host with ABI 1.2";
      throw cats::error(
          "stop-market and post-only orders need a host with ABI 1.2; this host is 1." +
              std::to_string(host_abi_minor()),
          CATS_E_UNSUPPORTED);
    }
    cats_order_request_t req{};
    req.struct_size = sizeof req;
    req.instrument_id = r.instrument_id;
    req.side = r.side;
    req.order_type = r.type;
    req.time_in_force = r.time_in_force;
    req.quantity = r.quantity.raw();
    req.limit_price = r.limit_price.raw();
    req.client_tag = r.client_tag;
    req.stop_price = r.stop_price.raw();
    // A host older than 1.4 reads struct_size bytes and never looks at the reason.
    if (host_abi_minor() >= 4) req.reason = to_cats_str(r.reason);
    uint64_t id = 0;
    check(call()->submit_order(host_, &req, &id), "submit_order");
    return id;
  }
  /// Market orders with a reason (ABI 1.4): ctx().buy_market(id, qty, "fast crossed above slow").
  uint64_t buy_market(uint32_t instrument_id, fixed quantity, std::string_view reason) const {
    order_request r{instrument_id, CATS_SIDE_BUY, CATS_ORDER_MARKET, CATS_TIF_GTC, quantity, {}, 0};
    r.reason = reason;
    return submit(r);
  }
  uint64_t sell_market(uint32_t instrument_id, fixed quantity, std::string_view reason) const {
    order_request r{
        instrument_id, CATS_SIDE_SELL, CATS_ORDER_MARKET, CATS_TIF_GTC, quantity, {}, 0};
    r.reason = reason;
    return submit(r);
  }
  uint64_t buy_market(uint32_t instrument_id, fixed quantity, uint64_t client_tag = 0) const {
    return submit(
        {instrument_id, CATS_SIDE_BUY, CATS_ORDER_MARKET, CATS_TIF_GTC, quantity, {}, client_tag});
  }
  uint64_t sell_market(uint32_t instrument_id, fixed quantity, uint64_t client_tag = 0) const {
    return submit(
        {instrument_id, CATS_SIDE_SELL, CATS_ORDER_MARKET, CATS_TIF_GTC, quantity, {}, client_tag});
  }
  uint64_t buy_limit(uint32_t instrument_id, fixed quantity, fixed price, uint64_t client_tag = 0,
                     cats_time_in_force tif = CATS_TIF_GTC) const {
    return submit(
        {instrument_id, CATS_SIDE_BUY, CATS_ORDER_LIMIT, tif, quantity, price, client_tag});
  }
  uint64_t sell_limit(uint32_t instrument_id, fixed quantity, fixed price, uint64_t client_tag = 0,
                      cats_time_in_force tif = CATS_TIF_GTC) const {
    return submit(
        {instrument_id, CATS_SIDE_SELL, CATS_ORDER_LIMIT, tif, quantity, price, client_tag});
  }
  /// A limit order that only ever adds liquidity: refused (order update REJECTED) if it would take
  /// on arrival (ABI 1.2).
  uint64_t buy_post_only(uint32_t instrument_id, fixed quantity, fixed price,
                         uint64_t client_tag = 0) const {
    return buy_limit(instrument_id, quantity, price, client_tag, CATS_TIF_POST_ONLY);
  }
  uint64_t sell_post_only(uint32_t instrument_id, fixed quantity, fixed price,
                          uint64_t client_tag = 0) const {
    return sell_limit(instrument_id, quantity, price, client_tag, CATS_TIF_POST_ONLY);
  }
  /// A stop-market order (ABI 1.2): a market order once the price reaches `stop_price` (a buy
  /// stop at or above it, a sell stop at or below it).
  uint64_t stop_market(uint32_t instrument_id, cats_side side, fixed quantity, fixed stop_price,
                       uint64_t client_tag = 0) const {
    order_request r{instrument_id, side, CATS_ORDER_STOP_MARKET, CATS_TIF_GTC, quantity, {},
                    client_tag};
    r.stop_price = stop_price;
    return submit(r);
  }
  uint64_t buy_stop(uint32_t instrument_id, fixed quantity, fixed stop_price,
                    uint64_t client_tag = 0) const {
    return stop_market(instrument_id, CATS_SIDE_BUY, quantity, stop_price, client_tag);
  }
  uint64_t sell_stop(uint32_t instrument_id, fixed quantity, fixed stop_price,
                     uint64_t client_tag = 0) const {
    return stop_market(instrument_id, CATS_SIDE_SELL, quantity, stop_price, client_tag);
  }
  /// Amends a working order (ABI 1.2): new quantity and/or price (the stop price of a stop
  /// order); a zero keeps the current value. Returns false if the host refused it (unknown or
  /// finished order, quantity not above the filled part, a host older than 1.2); last_error()
  /// says why. The outcome arrives as an order update.
  bool amend(uint64_t order_id, fixed quantity, fixed price = {}) const noexcept {
    // A strategy that states a minor below 2 (`abi_minor`) loads into older hosts: there the
    // call does not exist, and the answer is a refusal that says so, not a crash.
    if (!CATS_HAS_FIELD(api_, cats_host_api_t, amend_order) || api_->amend_order == nullptr) {
      local_error_ = "amend_order is not available: this host is older than ABI 1.2";
      return false;
    }
    return call()->amend_order(host_, order_id, quantity.raw(), price.raw()) == CATS_OK;
  }
  /// Draws `value` as the series `series` at the current engine time (ABI 1.3): over the price
  /// chart, or in the panel called `panel` under it. NaN leaves a gap. Returns false when the host
  /// refused it (a bad name, too many series) or is older than 1.3; last_error() says why. A
  /// backtest writes the values to plots.csv and draws them in report.html.
  ///
  ///   ctx().plot("upper", bands.upper());          // on the price chart
  ///   ctx().plot("rsi", rsi.value(), "RSI");       // in a panel called RSI
  bool plot(std::string_view series, double value, std::string_view panel = {}) const noexcept {
    if (!CATS_HAS_FIELD(api_, cats_host_api_t, plot) || api_->plot == nullptr) {
      local_error_ = "plot is not available: this host is older than ABI 1.3";
      return false;
    }
    return call()->plot(host_, to_cats_str(series), to_cats_str(panel), value) == CATS_OK;
  }
  /// Asks the engine for bars of `interval_ns` of an instrument (ABI 1.4), built from its feed's
  /// bars or trades the same way in every mode; they arrive through on_bar with that
  /// interval_ns(), only to the strategies that asked. Call it in the constructor or any callback:
  ///
  ///   ctx().subscribe_bars(btc.id, cats::hours(1));
  ///   void on_bar(const cats::bar& b) override { if (b.interval_ns() == cats::hours(1)) ... }
  ///
  /// Throws cats::error for an unknown instrument, an interval that is not a whole number of
  /// seconds from 1 s to 1 day, or a host older than 1.4.
  void subscribe_bars(uint32_t instrument_id, int64_t interval_ns) const {
    if (!CATS_HAS_FIELD(api_, cats_host_api_t, subscribe_bars) || api_->subscribe_bars == nullptr) {
      local_error_ = "subscribe_bars is not available: this host is older than ABI 1.4";
      throw cats::error(local_error_, CATS_E_UNSUPPORTED);
    }
    check(call()->subscribe_bars(host_, instrument_id, interval_ns), "subscribe_bars");
  }
  /// Why the last call of this instance that failed did: the host's message, or the SDK's when
  /// the host lacks the call.
  std::string_view last_error() const noexcept {
    if (local_error_ != nullptr) return local_error_;
    return to_string_view(api_->last_error(host_));
  }
  /// Requests cancellation; returns false if the order is unknown or already finished.
  bool cancel(uint64_t order_id) const noexcept {
    return call()->cancel_order(host_, order_id) == CATS_OK;
  }

  cats::position position(uint32_t instrument_id) const {
    cats_position_t p{};
    p.struct_size = sizeof p;
    check(call()->get_position(host_, instrument_id, &p), "get_position");
    cats::position out;
    out.instrument_id = p.instrument_id;
    out.quantity = fixed::from_raw(p.quantity);
    out.avg_entry_price = fixed::from_raw(p.avg_entry_price);
    out.realized_pnl = fixed::from_raw(p.realized_pnl);
    out.unrealized_pnl = fixed::from_raw(p.unrealized_pnl);
    out.mark_price = fixed::from_raw(p.mark_price);
    return out;
  }
  cats::account account() const {
    cats_account_t a{};
    a.struct_size = sizeof a;
    check(call()->get_account(host_, &a), "get_account");
    return {fixed::from_raw(a.cash), fixed::from_raw(a.equity), fixed::from_raw(a.fees_paid),
            std::string(to_string_view(a.currency))};
  }

  uint64_t set_timer(int64_t fire_at_ns, uint64_t user_data = 0) const {
    uint64_t id = 0;
    check(call()->set_timer(host_, fire_at_ns, user_data, &id), "set_timer");
    return id;
  }
  bool cancel_timer(uint64_t timer_id) const noexcept {
    return call()->cancel_timer(host_, timer_id) == CATS_OK;
  }

  const cats_host_api_t* api() const noexcept { return api_; }
  cats_host_t* host() const noexcept { return host_; }

 private:
  template <class... Args>
  static std::string concat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
  }
  void check(cats_status_t status, const char* what) const {
    if (status == CATS_OK) return;
    std::string msg(what);
    msg += ": ";
    msg += to_string_view(api_->last_error(host_));
    throw cats::error(msg, status);
  }
  static instrument convert(const cats_instrument_t& in) {
    instrument out;
    out.id = in.instrument_id;
    out.symbol = std::string(to_string_view(in.symbol));
    out.venue = std::string(to_string_view(in.venue));
    out.base = std::string(to_string_view(in.base));
    out.quote = std::string(to_string_view(in.quote));
    out.tick_size = fixed::from_raw(in.tick_size);
    out.lot_size = fixed::from_raw(in.lot_size);
    out.min_quantity = fixed::from_raw(in.min_quantity);
    out.min_notional = fixed::from_raw(in.min_notional);
    return out;
  }

  // The table, for a call to the host: the call's outcome replaces any failure of the SDK's own.
  const cats_host_api_t* call() const noexcept {
    local_error_ = nullptr;
    return api_;
  }

  const cats_host_api_t* api_;
  cats_host_t* host_;
  mutable const char* local_error_ = nullptr;  // a static message, or null
};

// ------------------------------------------------------------------------------------------------
// State blobs for hot reload
// ------------------------------------------------------------------------------------------------

class state_writer {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "put() takes trivially copyable values");
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  template <class T>
  void put_vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>, "put_vector() takes trivially copyable values");
    put<uint64_t>(v.size());
    const auto* p = reinterpret_cast<const unsigned char*>(v.data());
    bytes_.insert(bytes_.end(), p, p + v.size() * sizeof(T));
  }
  const std::vector<unsigned char>& bytes() const noexcept { return bytes_; }

 private:
  std::vector<unsigned char> bytes_;
};

class state_reader {
 public:
  state_reader(const void* data, uint64_t size) noexcept
      : p_(static_cast<const unsigned char*>(data)), left_(size) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>, "get() takes trivially copyable values");
    T v;
    take(&v, sizeof(T));
    return v;
  }
  std::string get_string() {
    const auto n = get<uint64_t>();
    if (n > left_) throw bad_state("state blob truncated");
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    left_ -= n;
    return s;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<uint64_t>();
    if (n > left_ / sizeof(T)) throw bad_state("state blob truncated");
    std::vector<T> v(static_cast<size_t>(n));
    take(v.data(), static_cast<uint64_t>(n * sizeof(T)));
    return v;
  }
  uint64_t remaining() const noexcept { return left_; }

 private:
  void take(void* out, uint64_t n) {
    if (n > left_) throw bad_state("state blob truncated");
    if (n != 0) std::memcpy(out, p_, static_cast<size_t>(n));
    p_ += n;
    left_ -= n;
  }
  const unsigned char* p_;
  uint64_t left_;
};

// ------------------------------------------------------------------------------------------------
// The strategy base class
// ------------------------------------------------------------------------------------------------

class strategy {
 public:
  explicit strategy(context& ctx) noexcept : ctx_(ctx) {}
  virtual ~strategy() = default;
  strategy(const strategy&) = delete;
  strategy& operator=(const strategy&) = delete;

  virtual void on_start() {}
  virtual void on_stop() {}
  virtual void on_bar(const bar&) {}
  virtual void on_trade(const trade&) {}
  virtual void on_quote(const quote&) {}
  virtual void on_book(const book&) {}
  virtual void on_order_update(const order_update&) {}
  virtual void on_fill(const fill&) {}
  virtual void on_timer(const timer&) {}
  /// Event types this SDK version does not know (appended by a newer host).
  virtual void on_other_event(const cats_event_t&) {}

  /// Writes the state to hand to the next version on hot reload; returns the format version.
  virtual uint32_t save_state(state_writer&) const { return 0; }
  /// Restores a state written by save_state (possibly of an older build). The default accepts
  /// only an empty state.
  virtual void load_state(uint32_t version, state_reader& in) {
    if (in.remaining() != 0)
      throw bad_state("this strategy keeps no state but was given " +
                      std::to_string(in.remaining()) + " bytes (version " +
                      std::to_string(version) + ")");
  }

 protected:
  context& ctx() const noexcept { return ctx_; }

 private:
  context& ctx_;
};

}  // namespace cats

// The glue between the C ABI and the classes above (cats::detail, not for direct use).
#include <cats/detail/glue.hpp>  // IWYU pragma: export

/// Exports `Class` as this plugin's strategy. Use exactly once per plugin. The descriptor is
/// returned whatever the host's version: the host compares versions and explains a refusal.
#define CATS_EXPORT_STRATEGY(Class, Name, Version, Description)                 \
  extern "C" CATS_EXPORT const cats_strategy_descriptor_t* cats_strategy_entry( \
      uint32_t host_abi_major, uint32_t host_abi_minor) {                       \
    (void)host_abi_major;                                                       \
    (void)host_abi_minor;                                                       \
    return ::cats::detail::entry<Class>(Name, Version, Description);            \
  }

#endif  // CATS_STRATEGY_HPP
