/*
 * CATS strategy SDK — the C ABI between the host engine and strategy plugins.
 *
 * This header is the whole contract. It is plain C (C99 or later, or C++), so a strategy can be
 * written in C, C++ or anything that speaks the C calling convention, and built with any compiler
 * version: nothing here depends on the engine's compiler, standard library or exceptions.
 *
 * Rules (they keep old plugins loading in new engines and the other way round):
 *  - A plugin exports exactly one symbol, cats_strategy_entry(). Everything else travels through
 *    tables of function pointers.
 *  - Every struct that crosses the boundary begins with `struct_size`. Fields are only ever
 *    appended, grouped by the ABI minor version that added them; a reader never touches a field
 *    that lies beyond the `struct_size` the writer declared (use CATS_HAS_FIELD).
 *  - Majors must match. A plugin built for minor M loads in any host with minor >= M.
 *  - Enumerations travel as 32-bit integers. Status codes: 0 is success, negative is an error;
 *    values are never renumbered.
 *  - Strings are (pointer, length) pairs (cats_str_t), never assumed NUL-terminated.
 *  - Whoever allocates frees. Data the host passes into a callback is borrowed for that call only,
 *    unless a field says otherwise. All instances are destroyed before their library is unloaded.
 *  - Prices, quantities and money are exact fixed-point integers with 8 decimals (cats_fixed_t).
 *  - Threading: the host calls one strategy instance from one thread at a time (the engine
 *    thread). Host API functions may only be called from inside a callback of the same instance.
 */
#ifndef CATS_SDK_H
#define CATS_SDK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------------- */

/** ABI major: changes only when an existing field or function changes meaning. */
#define CATS_ABI_MAJOR 1
/** ABI minor: grows when fields or functions are appended.
 *  1.1: CATS_EVENT_BOOK (cats_book_event_t). Plugins built for 1.0 keep loading and are never
 *       sent book events.
 *  1.2: CATS_ORDER_STOP_MARKET, CATS_TIF_POST_ONLY, cats_order_request_t.stop_price,
 *       cats_order_update_event_t.stop_price, cats_host_api_t.amend_order. Requests written by
 *       1.0/1.1 plugins (smaller struct_size) keep working; they cannot ask for a stop.
 *  1.3: cats_host_api_t.plot (named values a strategy draws in the report).
 *  1.4: cats_host_api_t.subscribe_bars (bars of longer intervals built by the engine),
 *       cats_order_request_t.reason (why an order was sent; the trade table's entry and exit
 *       reasons).
 *  1.5: cats_strategy_descriptor_t.on_bars (runs of bars in one call, cats_bar_span_t). Hosts
 *       older than 1.5 never call it; plugins that leave it NULL get every bar from on_event. */
#define CATS_ABI_MINOR 5

/** Name of the one symbol every plugin exports. */
#define CATS_ENTRY_SYMBOL "cats_strategy_entry"

/** True when a struct written with `struct_size` bytes contains the whole of `field`. */
#define CATS_HAS_FIELD(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

#if defined(__cplusplus)
#define CATS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define CATS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#if defined(_WIN32)
#define CATS_EXPORT __declspec(dllexport)
#else
#define CATS_EXPORT __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------------------------------------
 * Basic types
 * ------------------------------------------------------------------------------------------- */

/** Exact decimal with 8 fractional digits: the value 1.5 is stored as 150000000. */
typedef int64_t cats_fixed_t;
/** 10^8, the scale of cats_fixed_t. */
#define CATS_FIXED_SCALE INT64_C(100000000)

/** A string that is not necessarily NUL-terminated. `data` may be NULL when `size` is 0. */
typedef struct cats_str_t {
  const char* data;
  uint64_t size;
} cats_str_t;

/** Status code returned by every call that can fail. */
typedef int32_t cats_status_t;

typedef enum cats_status_code {
  CATS_OK = 0,
  /** Unspecified failure; the last-error string says what happened. */
  CATS_E_FAILED = -1,
  /** An argument was out of range, malformed or NULL where it must not be. */
  CATS_E_INVALID_ARGUMENT = -2,
  /** The instrument, order or timer does not exist. */
  CATS_E_NOT_FOUND = -3,
  /** The call is not supported by this host, mode or strategy. */
  CATS_E_UNSUPPORTED = -4,
  /** The request was well-formed but refused (risk limit, mode, closed market). */
  CATS_E_REJECTED = -5,
  /** A saved state blob was refused (unknown version or corrupt). */
  CATS_E_BAD_STATE = -6,
  /** A C++ exception reached the boundary; the last-error string holds its message. */
  CATS_E_EXCEPTION = -7,
  CATS_STATUS_FORCE_32 = 0x7FFFFFFF
} cats_status_code;

/* ---------------------------------------------------------------------------------------------
 * Enumerations (carried in int32_t fields)
 * ------------------------------------------------------------------------------------------- */

typedef enum cats_event_type {
  CATS_EVENT_NONE = 0,
  CATS_EVENT_TRADE = 1,        /**< cats_trade_event_t */
  CATS_EVENT_QUOTE = 2,        /**< cats_quote_event_t: best bid/ask */
  CATS_EVENT_BAR = 3,          /**< cats_bar_event_t: a closed candle */
  CATS_EVENT_ORDER_UPDATE = 4, /**< cats_order_update_event_t */
  CATS_EVENT_FILL = 5,         /**< cats_fill_event_t */
  CATS_EVENT_TIMER = 6,        /**< cats_timer_event_t */
  CATS_EVENT_BOOK = 7,         /**< cats_book_event_t: L2 order book (ABI 1.1) */
  /* New types are appended; a strategy ignores types it does not know. */
  CATS_EVENT_TYPE_FORCE_32 = 0x7FFFFFFF
} cats_event_type;

typedef enum cats_side {
  CATS_SIDE_NONE = 0, /**< unknown aggressor */
  CATS_SIDE_BUY = 1,
  CATS_SIDE_SELL = 2,
  CATS_SIDE_FORCE_32 = 0x7FFFFFFF
} cats_side;

typedef enum cats_order_type {
  CATS_ORDER_MARKET = 1,
  CATS_ORDER_LIMIT = 2,
  /** ABI 1.2: becomes a market order once the market trades at or through `stop_price` (a buy
   *  stop when the price is >= stop_price, a sell stop when it is <= stop_price). */
  CATS_ORDER_STOP_MARKET = 3,
  CATS_ORDER_TYPE_FORCE_32 = 0x7FFFFFFF
} cats_order_type;

typedef enum cats_time_in_force {
  CATS_TIF_GTC = 0, /**< good till cancelled (default) */
  CATS_TIF_IOC = 1, /**< fill what can be filled at once, cancel the rest */
  /** ABI 1.2, limit orders only: an order that would take liquidity when it arrives is rejected
   *  (with a reason) instead of filling as taker. */
  CATS_TIF_POST_ONLY = 2,
  CATS_TIF_FORCE_32 = 0x7FFFFFFF
} cats_time_in_force;

typedef enum cats_order_status {
  CATS_ORDER_NEW = 1,              /**< accepted, resting or waiting for the next fill chance */
  CATS_ORDER_PARTIALLY_FILLED = 2, /**< some quantity filled, the rest still working */
  CATS_ORDER_FILLED = 3,           /**< completely filled (terminal) */
  CATS_ORDER_CANCELED = 4,         /**< cancelled by the strategy or the venue (terminal) */
  CATS_ORDER_REJECTED = 5,         /**< refused; `reason` says why (terminal) */
  CATS_ORDER_STATUS_FORCE_32 = 0x7FFFFFFF
} cats_order_status;

typedef enum cats_liquidity {
  CATS_LIQUIDITY_TAKER = 1,
  CATS_LIQUIDITY_MAKER = 2,
  CATS_LIQUIDITY_FORCE_32 = 0x7FFFFFFF
} cats_liquidity;

typedef enum cats_log_level {
  CATS_LOG_TRACE = 0,
  CATS_LOG_DEBUG = 1,
  CATS_LOG_INFO = 2,
  CATS_LOG_WARN = 3,
  CATS_LOG_ERROR = 4,
  CATS_LOG_LEVEL_FORCE_32 = 0x7FFFFFFF
} cats_log_level;

typedef enum cats_param_type {
  CATS_PARAM_BOOL = 1,
  CATS_PARAM_INT = 2,
  CATS_PARAM_FLOAT = 3, /**< an integer in the config is accepted as a float */
  CATS_PARAM_STRING = 4,
  CATS_PARAM_TYPE_FORCE_32 = 0x7FFFFFFF
} cats_param_type;

/* ---------------------------------------------------------------------------------------------
 * Events. Every event begins with cats_event_t; `type` says which struct it is, `struct_size` how
 * much of it the host wrote. Events are borrowed for the duration of on_event only.
 * ------------------------------------------------------------------------------------------- */

/** Bit in cats_event_t.flags: the event comes from historical replay, not a live feed. */
#define CATS_EVENT_FLAG_REPLAY 0x1u

typedef struct cats_event_t {
  uint32_t struct_size;   /**< size of the whole event struct as written by the host */
  int32_t type;           /**< cats_event_type */
  uint32_t instrument_id; /**< cats_instrument_t.instrument_id; 0 for timers */
  uint32_t flags;         /**< CATS_EVENT_FLAG_* */
  int64_t exchange_ts_ns; /**< venue timestamp, ns since the Unix epoch (UTC) */
  /** When the engine received the event: in live mode, and in the replay of a recording (which
   *  keeps the receive times it recorded), the local clock; in the replay of venue files (klines,
   *  trades), which carry no receive time, equal to exchange_ts_ns. */
  int64_t local_ts_ns;
} cats_event_t;

/** A trade printed on the venue. */
typedef struct cats_trade_event_t {
  cats_event_t header;
  cats_fixed_t price;
  cats_fixed_t quantity;
  uint64_t trade_id;      /**< venue trade id, 0 if unknown */
  int32_t aggressor_side; /**< cats_side of the taker; CATS_SIDE_NONE if unknown */
  uint32_t reserved;
} cats_trade_event_t;

/** Best bid and ask. */
typedef struct cats_quote_event_t {
  cats_event_t header;
  cats_fixed_t bid_price;
  cats_fixed_t bid_quantity;
  cats_fixed_t ask_price;
  cats_fixed_t ask_quantity;
} cats_quote_event_t;

/**
 * A closed candle. header.exchange_ts_ns is the end of the interval (open_time_ns + interval_ns):
 * the moment the bar became known.
 */
typedef struct cats_bar_event_t {
  cats_event_t header;
  int64_t open_time_ns;
  int64_t interval_ns;
  cats_fixed_t open;
  cats_fixed_t high;
  cats_fixed_t low;
  cats_fixed_t close;
  cats_fixed_t volume;                 /**< base asset */
  cats_fixed_t quote_volume;           /**< quote asset */
  cats_fixed_t taker_buy_volume;       /**< base asset bought by takers */
  cats_fixed_t taker_buy_quote_volume; /**< quote asset spent by taker buyers */
  int64_t trade_count;
} cats_bar_event_t;

/**
 * A run of consecutive bars handed to on_bars (ABI 1.5): a replay whose bars follow each other
 * with nothing else in between (one strategy, no order working, no timer pending, no other
 * event). Owned by the host; it and the bars are valid only during the on_bars call.
 * Bar i is at `(const char*)first + i * stride` (never `first[i]`: the stride is larger than a
 * bar); each is a whole cats_bar_event_t of this SDK with the flags on_event would have shown.
 * `struct_size` is the host's sizeof(cats_bar_span_t); `reserved` is 0.
 */
typedef struct cats_bar_span_t {
  uint32_t struct_size;
  uint32_t count;  /**< bars in the run, at least 1 */
  uint32_t stride; /**< bytes from one bar to the next */
  /** Written by the plugin: the index of the bar it is handling, before it handles it (and so
   *  before any host call made for it); it only grows. The host reads it when the plugin calls
   *  into it and answers as on_event's delivery of that bar would: its close is the time, the
   *  account and the position are marked there. */
  uint32_t current;
  const cats_bar_event_t* first;
  /** Written by the host during a host call: nonzero once a call needs the host before the next
   *  bar (an order, a cancel, an amend, a timer, a subscription, a failure). The plugin must then
   *  return after the bar it is handling: a host call from a later bar is refused
   *  (CATS_E_REJECTED) and the strategy is disabled, as it is when `out_handled` says it went on.
   *  Read it after every bar. */
  uint32_t stop;
  uint32_t reserved;
} cats_bar_span_t;

/** A change of an order's status. Delivered only to the strategy that submitted the order. */
typedef struct cats_order_update_event_t {
  cats_event_t header;
  uint64_t order_id;   /**< as returned by submit_order */
  uint64_t client_tag; /**< as given in cats_order_request_t */
  int32_t side;        /**< cats_side */
  int32_t order_type;  /**< cats_order_type */
  int32_t status;      /**< cats_order_status */
  int32_t time_in_force;
  cats_fixed_t quantity;        /**< requested quantity after lot rounding */
  cats_fixed_t limit_price;     /**< 0 for market orders */
  cats_fixed_t filled_quantity; /**< cumulative */
  cats_fixed_t avg_fill_price;  /**< 0 while nothing is filled */
  cats_str_t reason;            /**< why rejected or cancelled; empty otherwise; borrowed */

  /* --- ABI 1.2 --- */
  cats_fixed_t stop_price; /**< stop-market orders: the trigger price; 0 otherwise */
} cats_order_update_event_t;

/** One execution of an order. Delivered only to the strategy that submitted the order. */
typedef struct cats_fill_event_t {
  cats_event_t header;
  uint64_t order_id;
  uint64_t client_tag;
  uint64_t fill_id; /**< unique within the run */
  int32_t side;     /**< cats_side */
  int32_t liquidity;
  cats_fixed_t price;
  cats_fixed_t quantity;
  cats_fixed_t fee;            /**< in the quote currency; positive is a cost */
  cats_fixed_t position_after; /**< the account's net position in the instrument after this fill */
} cats_fill_event_t;

/** A timer set with cats_host_api_t.set_timer fired. */
typedef struct cats_timer_event_t {
  cats_event_t header;
  uint64_t timer_id;
  uint64_t user_data;      /**< as passed to set_timer */
  int64_t scheduled_ts_ns; /**< the time it was set for; header.exchange_ts_ns is when it fired */
} cats_timer_event_t;

/** One price level of an order book. */
typedef struct cats_book_level_t {
  cats_fixed_t price;
  cats_fixed_t quantity; /**< in `changes`: 0 means the level was removed */
} cats_book_level_t;

/** Bits in cats_book_event_t.book_flags. */
/** The book was (re)built from a snapshot: forget what you knew; `changes` hold the whole book. */
#define CATS_BOOK_FLAG_SNAPSHOT 0x1u
/** The snapshot follows a detected gap, checksum failure or reconnect (a resync). */
#define CATS_BOOK_FLAG_RESYNC 0x2u

/**
 * The order book of an instrument changed (ABI 1.1). Delivered after the host has applied the
 * venue's update, so `bids`/`asks` are the book as it is now: the top levels, best first, as many
 * as the run's book depth allows. `bid_changes`/`ask_changes` are the levels this update touched.
 * All four arrays are borrowed: valid only during on_event, owned by the host.
 */
typedef struct cats_book_event_t {
  cats_event_t header;
  uint32_t book_flags;       /**< CATS_BOOK_FLAG_* */
  uint32_t bid_count;        /**< levels in `bids` */
  uint32_t ask_count;        /**< levels in `asks` */
  uint32_t bid_change_count; /**< levels in `bid_changes` */
  uint32_t ask_change_count; /**< levels in `ask_changes` */
  uint32_t reserved;
  uint64_t sequence;             /**< the venue's update id after this update, 0 if it has none */
  const cats_book_level_t* bids; /**< descending price */
  const cats_book_level_t* asks; /**< ascending price */
  const cats_book_level_t* bid_changes; /**< in the venue's order */
  const cats_book_level_t* ask_changes;
} cats_book_event_t;

/* ---------------------------------------------------------------------------------------------
 * Data the strategy asks the host for. The strategy sets `struct_size` to sizeof the struct it
 * was compiled with; the host fills at most that many bytes and zero-fills fields it lacks.
 * ------------------------------------------------------------------------------------------- */

typedef struct cats_instrument_t {
  uint32_t struct_size;
  uint32_t instrument_id; /**< non-zero; stable for the run */
  /* All strings below are owned by the host and stay valid until the instance is destroyed. */
  cats_str_t symbol;      /**< "VENUE:SYMBOL", e.g. "BINANCE:BTCUSDT" */
  cats_str_t venue;       /**< "BINANCE" */
  cats_str_t base;        /**< "BTC" if known, else empty */
  cats_str_t quote;       /**< "USDT" if known, else empty */
  cats_fixed_t tick_size; /**< prices are multiples of this */
  cats_fixed_t lot_size;  /**< quantities are multiples of this */
  cats_fixed_t min_quantity;
  cats_fixed_t min_notional;
} cats_instrument_t;

typedef struct cats_position_t {
  uint32_t struct_size;
  uint32_t instrument_id;
  cats_fixed_t quantity;        /**< signed: negative is short */
  cats_fixed_t avg_entry_price; /**< 0 when flat */
  cats_fixed_t realized_pnl;    /**< since the start of the run, after fees */
  cats_fixed_t unrealized_pnl;  /**< at the last mark price */
  cats_fixed_t mark_price;      /**< last known price, 0 if none yet */
} cats_position_t;

typedef struct cats_account_t {
  uint32_t struct_size;
  uint32_t reserved;
  cats_fixed_t cash;      /**< in the account currency */
  cats_fixed_t equity;    /**< cash plus positions at mark prices */
  cats_fixed_t fees_paid; /**< since the start of the run */
  cats_str_t currency;    /**< e.g. "USDT"; owned by the host, valid until destroy */
} cats_account_t;

/** An order request. Built by the strategy; the host copies what it needs before returning. */
typedef struct cats_order_request_t {
  uint32_t struct_size;
  uint32_t instrument_id;
  int32_t side;             /**< CATS_SIDE_BUY or CATS_SIDE_SELL */
  int32_t order_type;       /**< cats_order_type */
  int32_t time_in_force;    /**< cats_time_in_force; ignored for market orders */
  uint32_t flags;           /**< reserved, 0 */
  cats_fixed_t quantity;    /**< > 0; the host rounds it down to the lot size */
  cats_fixed_t limit_price; /**< limit orders only; the host rounds it to the tick size */
  uint64_t client_tag;      /**< echoed in order updates and fills */

  /* --- ABI 1.2: read only when struct_size covers it (CATS_HAS_FIELD) --- */
  /** Required for CATS_ORDER_STOP_MARKET (> 0, rounded to the tick size against the order);
   *  ignored otherwise. A request too small to hold it cannot be a stop order. */
  cats_fixed_t stop_price;

  /* --- ABI 1.4 --- */
  /** Why the strategy sends this order ("fast crossed above slow", "stop loss"): at most 64
   *  printable bytes (UTF-8 allowed, no control characters), empty for none. Copied by the host;
   *  the report shows it as the entry reason of the trade the order opens and the exit reason of
   *  the trade it closes. A request with a bad reason is refused (CATS_E_INVALID_ARGUMENT). */
  cats_str_t reason;
} cats_order_request_t;

/* ---------------------------------------------------------------------------------------------
 * Parameters. A strategy declares what it accepts; the host validates the config against that
 * declaration, fills in defaults and passes the full set to create().
 * ------------------------------------------------------------------------------------------- */

typedef struct cats_param_spec_t {
  uint32_t struct_size;
  int32_t type;    /**< cats_param_type */
  cats_str_t name; /**< required, e.g. "fast" */
  cats_str_t
      default_value;      /**< a TOML literal ("10", "1.0", "false", "\"BTC\""); empty = required */
  cats_str_t description; /**< one line for `cats plugins inspect` */
} cats_param_spec_t;

/** One parameter value. Items carry no struct_size of their own: cats_params_t.item_size is the
 * stride and says how much of each item the host wrote; a reader copies at most that much. */
typedef struct cats_param_value_t {
  cats_str_t name;
  int32_t type;       /**< cats_param_type; decides which of the fields below is set */
  int32_t bool_value; /**< 0 or 1 */
  int64_t int_value;
  double float_value;
  cats_str_t string_value;
} cats_param_value_t;

/** The parameters of one instance. Borrowed for the duration of create() only. */
typedef struct cats_params_t {
  uint32_t struct_size;
  uint32_t count;
  uint32_t item_size; /**< stride of `items` in bytes: sizeof(cats_param_value_t) of the host */
  uint32_t reserved;
  const cats_param_value_t* items;
} cats_params_t;

/* ---------------------------------------------------------------------------------------------
 * The host API: what a strategy may ask of the engine. The host owns the table and keeps it valid
 * until the instance is destroyed. Check CATS_HAS_FIELD before calling a function added after the
 * minor version the plugin requires. Every function may be called only from inside a callback of
 * the instance it was handed to, on the engine thread.
 * ------------------------------------------------------------------------------------------- */

/** Opaque per-instance handle of the host. */
typedef struct cats_host_t cats_host_t;

typedef struct cats_host_api_t {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved;

  /* --- ABI 1.0 --- */

  /** Writes a line to the engine's log, tagged with the instance name. Never fails visibly. */
  void (*log)(cats_host_t* host, int32_t level, cats_str_t message);
  /** Current engine time in ns since the epoch: simulated in backtest, wall clock in live. */
  int64_t (*now_ns)(cats_host_t* host);
  /** Looks up an instrument by "VENUE:SYMBOL" or by bare symbol when unambiguous. */
  cats_status_t (*find_instrument)(cats_host_t* host, cats_str_t symbol, cats_instrument_t* out);
  /** Looks up an instrument by id (from an event). */
  cats_status_t (*get_instrument)(cats_host_t* host, uint32_t instrument_id,
                                  cats_instrument_t* out);
  /**
   * Submits an order. On success writes the new order's id. Validation failures (unknown
   * instrument, quantity <= 0, bad side) return an error; venue refusals arrive later as an order
   * update with status CATS_ORDER_REJECTED.
   */
  cats_status_t (*submit_order)(cats_host_t* host, const cats_order_request_t* request,
                                uint64_t* out_order_id);
  /** Requests cancellation; the outcome arrives as an order update. */
  cats_status_t (*cancel_order)(cats_host_t* host, uint64_t order_id);
  /** Net position of the account in an instrument (flat positions are returned as zeros). */
  cats_status_t (*get_position)(cats_host_t* host, uint32_t instrument_id, cats_position_t* out);
  /** Cash and equity of the account. */
  cats_status_t (*get_account)(cats_host_t* host, cats_account_t* out);
  /** Fires a CATS_EVENT_TIMER at (or as soon as possible after) fire_at_ns. */
  cats_status_t (*set_timer)(cats_host_t* host, int64_t fire_at_ns, uint64_t user_data,
                             uint64_t* out_timer_id);
  cats_status_t (*cancel_timer)(cats_host_t* host, uint64_t timer_id);
  /**
   * Message of the last host call of this instance that failed. Owned by the host; valid until
   * the next host call of this instance.
   */
  cats_str_t (*last_error)(cats_host_t* host);

  /* --- ABI 1.2 (check CATS_HAS_FIELD(api, cats_host_api_t, amend_order) before calling) --- */

  /**
   * Changes a working order: its quantity and/or its price (the limit price of a limit order,
   * the stop price of a stop-market order); 0 keeps the current value. A price change or a larger
   * quantity sends the order to the back of the queue; a smaller quantity keeps its place. The
   * new quantity must stay above what is already filled. Unknown or finished orders return
   * CATS_E_NOT_FOUND, bad values CATS_E_INVALID_ARGUMENT (the order is unchanged either way);
   * last_error says why. The outcome arrives as an order update (NEW or PARTIALLY_FILLED with the
   * new quantity and price, reason "amended"); a post-only order whose new price would take is
   * cancelled instead, with a reason.
   */
  cats_status_t (*amend_order)(cats_host_t* host, uint64_t order_id, cats_fixed_t new_quantity,
                               cats_fixed_t new_limit_price);

  /* --- ABI 1.3 (check CATS_HAS_FIELD(api, cats_host_api_t, plot) before calling) --- */

  /**
   * Records the value of a named series at the current engine time, for the report: an
   * indicator, a signal, a band. `series` names it (1-64 printable bytes, unique per strategy);
   * `panel` says where it is drawn: empty = over the price chart, otherwise the name (1-64
   * printable bytes) of a panel under it, shared by every series that names it. A NaN or infinite
   * value is a gap. A second value at the same time replaces the first. Both strings are borrowed
   * for the call. A backtest writes every value to plots.csv and draws them in report.html; other
   * modes accept and drop them. CATS_E_INVALID_ARGUMENT for a bad name, CATS_E_REJECTED past 32
   * series per strategy or before the engine has a time (in create()); last_error says why.
   */
  cats_status_t (*plot)(cats_host_t* host, cats_str_t series, cats_str_t panel, double value);

  /* --- ABI 1.4 (check CATS_HAS_FIELD(api, cats_host_api_t, subscribe_bars) before calling) --- */

  /**
   * Asks for bars of `interval_ns` of an instrument, built by the engine from the instrument's
   * own bars (when its feed has bars; their interval must divide `interval_ns`) or else from its
   * trades, the same way in backtest, paper and live runs. They arrive as CATS_EVENT_BAR events
   * with cats_bar_event_t.interval_ns = `interval_ns`, only to the strategies that asked, right
   * after the event that completed them (the feed's bar that ends the interval, or the first
   * event after its end; live runs and recordings, whose clock is the receive time, wait 2 s past
   * the end). Asking for the feed's own interval adds nothing. Intervals are aligned to the
   * epoch; a whole number of seconds from 1 s to 1 day. An interval without trades gives a flat bar
   * at the last close (as venues publish; at most 1440 in a row, then the bars resume with the next
   * trade); a first interval the engine saw only part of is not sent. A sum beyond the int64 range
   * reads INT64_MAX. Asking twice is harmless; the subscription lasts for the run and survives a
   * hot reload. Call it from create() or any callback. CATS_E_NOT_FOUND for an unknown instrument,
   * CATS_E_INVALID_ARGUMENT for a bad interval; last_error says why. If the feed's bars cannot make
   * the interval (5m bars from 1h bars) and it has no trades, the strategy is disabled with a
   * message that says so.
   */
  cats_status_t (*subscribe_bars)(cats_host_t* host, uint32_t instrument_id, int64_t interval_ns);
} cats_host_api_t;

/* ---------------------------------------------------------------------------------------------
 * The strategy descriptor: what the plugin gives the host. Static storage in the plugin; valid
 * until the library is unloaded.
 * ------------------------------------------------------------------------------------------- */

/** Opaque strategy instance, allocated by create() and freed by destroy(). */
typedef struct cats_strategy_t cats_strategy_t;

/** Where save_state writes its bytes. Owned by the host; valid for the save_state call only. */
typedef struct cats_state_sink_t {
  uint32_t struct_size;
  uint32_t reserved;
  void* context;
  /** Appends bytes to the state blob. May be called any number of times. */
  cats_status_t (*write)(void* context, const void* data, uint64_t size);
} cats_state_sink_t;

typedef struct cats_strategy_descriptor_t {
  uint32_t struct_size; /**< sizeof(cats_strategy_descriptor_t) as the plugin was compiled */
  uint32_t abi_major;   /**< CATS_ABI_MAJOR the plugin was built with */
  /** The lowest host minor the plugin needs; it also tells the host what the plugin knows: a
   *  plugin that states 0 is never sent book events (1.1). strategy.hpp states CATS_ABI_MINOR
   *  unless the strategy class declares `static constexpr uint32_t abi_minor = N;`. */
  uint32_t abi_minor;
  uint32_t flags; /**< reserved, 0 */

  cats_str_t name;        /**< required; strategy kind, e.g. "ma_crossover" */
  cats_str_t version;     /**< required; the strategy's own version, e.g. "1.2.0" */
  cats_str_t description; /**< optional, one line */

  /** Declared parameters; `param_spec_size` is the stride (sizeof(cats_param_spec_t)). */
  const cats_param_spec_t* params;
  uint32_t param_count;
  uint32_t param_spec_size;

  /**
   * Required. Creates an instance. `api` and `host` stay valid until destroy(). `params` is
   * borrowed for this call. On failure returns an error and writes a NUL-terminated message of at
   * most `error_capacity` bytes (including the NUL) into `error`, which the host owns.
   *
   * Threading: at start-up create() runs on the engine thread. For a hot reload it runs on the
   * host's loader thread while the engine thread keeps running the old instance: then only log,
   * now_ns (the wall clock), find_instrument and get_instrument work, and the calls that touch
   * orders, positions, the account or timers return CATS_E_UNSUPPORTED (make them from on_start,
   * which runs on the engine thread). Two instances of one plugin may be created on different
   * threads: create() must not touch mutable globals without a lock of its own.
   */
  cats_status_t (*create)(const cats_host_api_t* api, cats_host_t* host,
                          const cats_params_t* params, cats_strategy_t** out_instance, char* error,
                          uint32_t error_capacity);
  /** Required. Frees an instance. Never fails. */
  void (*destroy)(cats_strategy_t* instance);
  /** Optional. Called once after all instances were created, before the first event. */
  cats_status_t (*on_start)(cats_strategy_t* instance);
  /** Required. Handles one event; unknown event types must be ignored and return CATS_OK. */
  cats_status_t (*on_event)(cats_strategy_t* instance, const cats_event_t* event);
  /** Optional. Called once after the last event (end of replay, shutdown). */
  cats_status_t (*on_stop)(cats_strategy_t* instance);
  /**
   * Optional. Serialises the instance's state (for hot reload) into `sink`, and its format
   * version into `out_version`.
   */
  cats_status_t (*save_state)(cats_strategy_t* instance, const cats_state_sink_t* sink,
                              uint32_t* out_version);
  /** Optional. Restores a state; returns CATS_E_BAD_STATE for a version it does not understand. */
  cats_status_t (*load_state)(cats_strategy_t* instance, uint32_t version, const void* data,
                              uint64_t size);
  /**
   * Required. The message of the instance's last failed call. Owned by the instance; valid until
   * the next call into the instance.
   */
  cats_str_t (*last_error)(cats_strategy_t* instance);

  /* --- ABI 1.5 (the host checks struct_size before reading it) --- */

  /**
   * Optional. Handles the bars of `span` one after the other exactly as on_event would, each
   * after writing its index to span->current, and returns after the bar during which the host set
   * span->stop (or after the last bar). Writes the number of bars it handled to `out_handled`:
   * from 1 to span->count, the bar it returns from included (also when it returns an error: that
   * bar failed), never fewer than the last bar it called the host from. The host calls it only in
   * replays, on the engine thread; strategy.hpp writes it for every C++ strategy.
   */
  cats_status_t (*on_bars)(cats_strategy_t* instance, cats_bar_span_t* span, uint32_t* out_handled);
} cats_strategy_descriptor_t;

/**
 * The entry point every plugin exports. The host passes its ABI version; the plugin returns its
 * static descriptor, or NULL if it cannot work with that host. Must not allocate or fail otherwise.
 */
typedef const cats_strategy_descriptor_t* (*cats_strategy_entry_fn)(uint32_t host_abi_major,
                                                                    uint32_t host_abi_minor);

/**
 * The entry point's prototype, so that the compiler checks a plugin's definition against it
 * (CATS_EXPORT_STRATEGY in strategy.hpp writes the definition for C++ strategies). Called once
 * per load, on the loading thread, before anything else in the plugin.
 */
CATS_EXPORT const cats_strategy_descriptor_t* cats_strategy_entry(uint32_t host_abi_major,
                                                                  uint32_t host_abi_minor);

/* ---------------------------------------------------------------------------------------------
 * Layout checks (LP64). A failure here means the ABI changed by accident.
 * ------------------------------------------------------------------------------------------- */
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
CATS_STATIC_ASSERT(sizeof(cats_str_t) == 16, "cats_str_t layout");
CATS_STATIC_ASSERT(sizeof(cats_event_t) == 32, "cats_event_t layout");
CATS_STATIC_ASSERT(offsetof(cats_event_t, exchange_ts_ns) == 16, "cats_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_trade_event_t) == 64, "cats_trade_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_quote_event_t) == 64, "cats_quote_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_bar_event_t) == 120, "cats_bar_event_t layout");
CATS_STATIC_ASSERT(offsetof(cats_bar_event_t, close) == 72, "cats_bar_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_order_update_event_t) == 120, "cats_order_update_event_t layout");
CATS_STATIC_ASSERT(offsetof(cats_order_update_event_t, reason) == 96,
                   "cats_order_update_event_t layout");
/* 1.2 appended stop_price at the end of the 1.1 struct (112 bytes). */
CATS_STATIC_ASSERT(offsetof(cats_order_update_event_t, stop_price) == 112,
                   "cats_order_update_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_fill_event_t) == 96, "cats_fill_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_timer_event_t) == 56, "cats_timer_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_book_level_t) == 16, "cats_book_level_t layout");
CATS_STATIC_ASSERT(sizeof(cats_book_event_t) == 96, "cats_book_event_t layout");
CATS_STATIC_ASSERT(offsetof(cats_book_event_t, bids) == 64, "cats_book_event_t layout");
CATS_STATIC_ASSERT(sizeof(cats_instrument_t) == 104, "cats_instrument_t layout");
CATS_STATIC_ASSERT(sizeof(cats_position_t) == 48, "cats_position_t layout");
CATS_STATIC_ASSERT(sizeof(cats_account_t) == 48, "cats_account_t layout");
CATS_STATIC_ASSERT(sizeof(cats_order_request_t) == 72, "cats_order_request_t layout");
CATS_STATIC_ASSERT(offsetof(cats_order_request_t, client_tag) == 40, "cats_order_request_t layout");
/* 1.2 appended stop_price at the end of the 1.1 struct (48 bytes). */
CATS_STATIC_ASSERT(offsetof(cats_order_request_t, stop_price) == 48, "cats_order_request_t layout");
/* 1.4 appended reason at the end of the 1.2 struct (56 bytes). */
CATS_STATIC_ASSERT(offsetof(cats_order_request_t, reason) == 56, "cats_order_request_t layout");
CATS_STATIC_ASSERT(sizeof(cats_param_spec_t) == 56, "cats_param_spec_t layout");
CATS_STATIC_ASSERT(sizeof(cats_param_value_t) == 56, "cats_param_value_t layout");
CATS_STATIC_ASSERT(sizeof(cats_params_t) == 24, "cats_params_t layout");
CATS_STATIC_ASSERT(sizeof(cats_host_api_t) == 128, "cats_host_api_t layout");
CATS_STATIC_ASSERT(offsetof(cats_host_api_t, last_error) == 96, "cats_host_api_t layout");
/* 1.2 appended amend_order at the end of the 1.1 table (104 bytes). */
CATS_STATIC_ASSERT(offsetof(cats_host_api_t, amend_order) == 104, "cats_host_api_t layout");
CATS_STATIC_ASSERT(offsetof(cats_host_api_t, plot) == 112, "cats_host_api_t layout");
CATS_STATIC_ASSERT(offsetof(cats_host_api_t, subscribe_bars) == 120, "cats_host_api_t layout");
CATS_STATIC_ASSERT(sizeof(cats_state_sink_t) == 24, "cats_state_sink_t layout");
/* 1.5 appended on_bars at the end of the 1.4 descriptor (144 bytes). */
CATS_STATIC_ASSERT(sizeof(cats_strategy_descriptor_t) == 152, "descriptor layout");
CATS_STATIC_ASSERT(offsetof(cats_strategy_descriptor_t, create) == 80, "descriptor layout");
CATS_STATIC_ASSERT(offsetof(cats_strategy_descriptor_t, last_error) == 136, "descriptor layout");
CATS_STATIC_ASSERT(offsetof(cats_strategy_descriptor_t, on_bars) == 144, "descriptor layout");
CATS_STATIC_ASSERT(sizeof(cats_bar_span_t) == 32, "cats_bar_span_t layout");
CATS_STATIC_ASSERT(offsetof(cats_bar_span_t, first) == 16, "cats_bar_span_t layout");
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CATS_SDK_H */
