#include "render.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "cats/core/fixed.hpp"
#include "cats/venues/okx/book_sync.hpp"

namespace cats::fake {

namespace {

std::string to_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && to_lower(a) == to_lower(b);
}

void append_ms_string(std::string& out, int64_t now_ns) {
  out += '"';
  append_int(out, now_ns / 1000000);
  out += '"';
}

// One side of OKX levels: [["px","sz","0","1"],...].
void append_okx_side(std::string& out, const book_level* levels, size_t n) {
  out += '[';
  for (size_t i = 0; i < n; ++i) {
    if (i != 0) out += ',';
    out += "[\"";
    append_fixed_short(out, levels[i].price);
    out += "\",\"";
    append_fixed_short(out, levels[i].quantity);
    // Deprecated liquidated-orders field, then the order count (0 for a removed level).
    out += levels[i].quantity == 0 ? "\",\"0\",\"0\"]" : "\",\"0\",\"1\"]";
  }
  out += ']';
}

void append_binance_side(std::string& out, const book_level* levels, size_t n) {
  out += '[';
  for (size_t i = 0; i < n; ++i) {
    if (i != 0) out += ',';
    out += "[\"";
    append_fixed8(out, levels[i].price);
    out += "\",\"";
    append_fixed8(out, levels[i].quantity);
    out += "\"]";
  }
  out += ']';
}

void okx_prefix(std::string& out, const subscription& s, const char* action) {
  out += "{\"arg\":{\"channel\":";
  append_json_string(out, s.name);
  out += ",\"instId\":";
  append_json_string(out, s.inst);
  out += '}';
  if (action != nullptr) {
    out += ",\"action\":\"";
    out += action;
    out += '"';
  }
  out += ",\"data\":[";
}

// ---- Binance payloads ---------------------------------------------------------------------------

void binance_trade(std::string& out, const symbol_state& sym, const market_event& e,
                   const render_options& opt, int64_t now_ns) {
  const int64_t ms = now_ns / 1000000;
  out += "{\"e\":\"trade\",\"E\":";
  append_int(out, ms);
  out += ",\"s\":";
  append_json_string(out, sym.name);
  out += ",\"t\":";
  append_uint(out, opt.stamp_ns ? static_cast<uint64_t>(now_ns) : e.trade_id);
  if (!opt.omit_field) {
    out += ",\"p\":\"";
    append_fixed8(out, e.price);
    out += '"';
  }
  out += ",\"q\":\"";
  append_fixed8(out, e.qty);
  out += "\",\"T\":";
  append_int(out, ms);
  out += e.buyer_maker ? ",\"m\":true,\"M\":true}" : ",\"m\":false,\"M\":true}";
}

void binance_agg_trade(std::string& out, const symbol_state& sym, const market_event& e,
                       const render_options& opt, int64_t now_ns) {
  const int64_t ms = now_ns / 1000000;
  out += "{\"e\":\"aggTrade\",\"E\":";
  append_int(out, ms);
  out += ",\"s\":";
  append_json_string(out, sym.name);
  out += ",\"a\":";
  append_uint(out, opt.stamp_ns ? static_cast<uint64_t>(now_ns) : e.trade_id);
  if (!opt.omit_field) {
    out += ",\"p\":\"";
    append_fixed8(out, e.price);
    out += '"';
  }
  out += ",\"q\":\"";
  append_fixed8(out, e.qty);
  out += "\",\"f\":";
  append_uint(out, e.trade_id);
  out += ",\"l\":";
  append_uint(out, e.trade_id);
  out += ",\"T\":";
  append_int(out, ms);
  out += e.buyer_maker ? ",\"m\":true,\"M\":true}" : ",\"m\":false,\"M\":true}";
}

void binance_book_ticker(std::string& out, const symbol_state& sym, const market_event& e,
                         const render_options& opt) {
  out += "{\"u\":";
  append_uint(out, e.update_id);
  out += ",\"s\":";
  append_json_string(out, sym.name);
  if (!opt.omit_field) {
    out += ",\"b\":\"";
    append_fixed8(out, e.top.bid_px);
    out += '"';
  }
  out += ",\"B\":\"";
  append_fixed8(out, e.top.bid_qty);
  out += "\",\"a\":\"";
  append_fixed8(out, e.top.ask_px);
  out += "\",\"A\":\"";
  append_fixed8(out, e.top.ask_qty);
  out += "\"}";
}

void binance_depth(std::string& out, const symbol_state& sym, const market_event& e,
                   const render_options& opt, int64_t now_ns) {
  out += "{\"e\":\"depthUpdate\",\"E\":";
  append_int(out, now_ns / 1000000);
  out += ",\"s\":";
  append_json_string(out, sym.name);
  out += ",\"U\":";
  append_uint(out, e.update_id);
  if (!opt.omit_field) {
    out += ",\"u\":";
    append_uint(out, e.update_id);
  }
  out += ",\"b\":";
  append_binance_side(out, e.bids, e.n_bids);
  out += ",\"a\":";
  append_binance_side(out, e.asks, e.n_asks);
  out += '}';
}

void binance_kline(std::string& out, const symbol_state& sym, const kline_data& k,
                   const render_options& opt, int64_t now_ns) {
  auto field8 = [&](const char* name, int64_t v) {
    out += ",\"";
    out += name;
    out += "\":\"";
    append_fixed8(out, v);
    out += '"';
  };
  out += "{\"e\":\"kline\",\"E\":";
  append_int(out, now_ns / 1000000);
  out += ",\"s\":";
  append_json_string(out, sym.name);
  out += ",\"k\":{\"t\":";
  append_int(out, k.open_ms);
  out += ",\"T\":";
  append_int(out, k.open_ms + 59999);
  out += ",\"s\":";
  append_json_string(out, sym.name);
  out += ",\"i\":\"1m\",\"f\":";
  append_uint(out, k.first_trade);
  out += ",\"L\":";
  append_uint(out, k.last_trade);
  field8("o", k.open);
  if (!opt.omit_field) field8("c", k.close);
  field8("h", k.high);
  field8("l", k.low);
  field8("v", k.volume);
  out += ",\"n\":";
  append_uint(out, k.trades);
  out += ",\"x\":true";
  field8("q", k.quote_volume);
  field8("V", k.taker_buy_volume);
  field8("Q", k.taker_buy_quote);
  out += ",\"B\":\"0\"}}";
}

// ---- OKX payloads -------------------------------------------------------------------------------

void okx_trade(std::string& out, const symbol_state& sym, const market_event& e,
               const subscription& s, const render_options& opt, int64_t now_ns) {
  okx_prefix(out, s, nullptr);
  out += "{\"instId\":";
  append_json_string(out, sym.name);
  out += ",\"tradeId\":\"";
  append_uint(out, opt.stamp_ns ? static_cast<uint64_t>(now_ns) : e.trade_id);
  out += '"';
  if (!opt.omit_field) {
    out += ",\"px\":\"";
    append_fixed_short(out, e.price);
    out += '"';
  }
  out += ",\"sz\":\"";
  append_fixed_short(out, e.qty);
  out += e.buyer_maker ? "\",\"side\":\"sell\",\"ts\":" : "\",\"side\":\"buy\",\"ts\":";
  append_ms_string(out, now_ns);
  out += ",\"count\":\"1\"}]}";
}

void okx_bbo(std::string& out, const market_event& e, const subscription& s,
             const render_options& opt, int64_t now_ns) {
  okx_prefix(out, s, nullptr);
  const book_level ask{e.top.ask_px, e.top.ask_qty};
  const book_level bid{e.top.bid_px, e.top.bid_qty};
  out += "{\"asks\":";
  append_okx_side(out, &ask, 1);
  if (!opt.omit_field) {
    out += ",\"bids\":";
    append_okx_side(out, &bid, 1);
  }
  out += ",\"ts\":";
  append_ms_string(out, now_ns);
  out += ",\"seqId\":";
  append_uint(out, e.update_id);
  out += "}]}";
}

void okx_ticker(std::string& out, const symbol_state& sym, const market_event& e,
                const subscription& s, const render_options& opt, int64_t now_ns) {
  auto field = [&](const char* name, int64_t v) {
    out += ",\"";
    out += name;
    out += "\":\"";
    append_fixed_short(out, v);
    out += '"';
  };
  okx_prefix(out, s, nullptr);
  out += "{\"instType\":\"SPOT\",\"instId\":";
  append_json_string(out, sym.name);
  if (!opt.omit_field) field("last", e.last_px);
  field("lastSz", e.last_qty);
  field("askPx", e.top.ask_px);
  field("askSz", e.top.ask_qty);
  field("bidPx", e.top.bid_px);
  field("bidSz", e.top.bid_qty);
  field("open24h", sym.open_px);
  field("high24h", sym.high_px);
  field("low24h", sym.low_px);
  field("sodUtc0", sym.open_px);
  field("sodUtc8", sym.open_px);
  field("volCcy24h", sym.quote_volume);
  field("vol24h", sym.volume);
  out += ",\"ts\":";
  append_ms_string(out, now_ns);
  out += "}]}";
}

void okx_book_update(std::string& out, const market_event& e, const subscription& s,
                     const render_options& opt, int64_t now_ns) {
  okx_prefix(out, s, "update");
  out += "{\"asks\":";
  append_okx_side(out, e.asks, e.n_asks);
  out += ",\"bids\":";
  append_okx_side(out, e.bids, e.n_bids);
  out += ",\"ts\":";
  append_ms_string(out, now_ns);
  if (!opt.omit_field) {
    out += ",\"checksum\":";
    append_int(out, e.checksum);
  }
  out += ",\"prevSeqId\":";
  append_uint(out, e.prev_update_id);
  out += ",\"seqId\":";
  append_uint(out, e.update_id);
  out += "}]}";
}

}  // namespace

// ---- numbers ------------------------------------------------------------------------------------

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_fixed8(std::string& out, int64_t v) {
  uint64_t mag = static_cast<uint64_t>(v);
  if (v < 0) {
    out += '-';
    mag = 0 - mag;
  }
  append_uint(out, mag / fixed_scale);
  char frac[9];
  uint64_t f = mag % fixed_scale;
  frac[0] = '.';
  for (int i = 8; i >= 1; --i, f /= 10) frac[i] = static_cast<char>('0' + f % 10);
  out.append(frac, sizeof frac);
}

void append_fixed_short(std::string& out, int64_t v) {
  char buf[32];
  out.append(buf, static_cast<size_t>(format_fixed(v, buf)));
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_levels(std::string& out, const order_book& book, size_t depth, level_format format) {
  auto side = [&](const std::vector<book_level>& levels) {
    const size_t n = std::min(depth, levels.size());
    if (format == level_format::binance) {
      append_binance_side(out, levels.data(), n);
    } else if (format == level_format::okx) {
      append_okx_side(out, levels.data(), n);
    } else {
      out += '[';
      for (size_t i = 0; i < n; ++i) {
        out += i == 0 ? "[\"" : ",[\"";
        append_fixed_short(out, levels[i].price);
        out += "\",\"";
        append_fixed_short(out, levels[i].quantity);
        out += "\"]";
      }
      out += ']';
    }
  };
  out += "\"bids\":";
  side(book.bids());
  out += ",\"asks\":";
  side(book.asks());
}

void corrupt(std::string& msg, int variant) {
  if (variant == 0) {
    msg.resize(msg.size() / 2);
    return;
  }
  // The first string value that starts with a digit is a price, a quantity or an id.
  for (size_t i = 1; i + 1 < msg.size(); ++i) {
    if (msg[i] == '"' && (msg[i - 1] == ':' || msg[i - 1] == '[') &&
        std::isdigit(static_cast<unsigned char>(msg[i + 1])) != 0) {
      const size_t end = msg.find('"', i + 1);
      if (end == std::string::npos) break;
      msg.replace(i + 1, end - i - 1, "12.3.4");
      return;
    }
  }
  msg.resize(msg.size() / 2);  // no such string: fall back to truncation
}

// ---- subscriptions ------------------------------------------------------------------------------

bool parse_binance_stream(std::string_view text, const market& m, bool script_mode,
                          subscription& out, std::string& error) {
  const size_t at = text.find('@');
  if (at == std::string_view::npos || at == 0) {
    error = "invalid stream name: " + std::string(text);
    return false;
  }
  const std::string sym = to_lower(text.substr(0, at));
  const std::string_view kind = text.substr(at + 1);
  out = subscription{};
  out.where = venue::binance;
  std::string canonical;
  if (iequals(kind, "trade")) {
    out.ch = channel::trade, canonical = "trade";
  } else if (iequals(kind, "aggTrade")) {
    out.ch = channel::agg_trade, canonical = "aggTrade";
  } else if (iequals(kind, "bookTicker")) {
    out.ch = channel::book_ticker, canonical = "bookTicker";
  } else if (iequals(kind, "depth") || iequals(kind, "depth@100ms") ||
             iequals(kind, "depth@1000ms")) {
    out.ch = channel::depth, canonical = to_lower(kind);
  } else if (iequals(kind, "kline_1m")) {
    out.ch = channel::kline_1m, canonical = "kline_1m";
  } else if (script_mode && !kind.empty()) {
    out.ch = channel::trade, canonical = std::string(kind);  // matched by key only
  } else {
    error = "unsupported stream: " + std::string(text);
    return false;
  }
  out.symbol = m.find(venue::binance, sym);
  if (out.symbol < 0 && !script_mode) {
    error = "unknown symbol in stream: " + std::string(text);
    return false;
  }
  out.name = sym + "@" + canonical;
  out.key = out.name;
  return true;
}

bool parse_okx_channel(std::string_view channel_name, std::string_view inst, const market& m,
                       bool script_mode, subscription& out, std::string& error) {
  out = subscription{};
  out.where = venue::okx;
  if (channel_name == "trades") {
    out.ch = channel::okx_trades;
  } else if (channel_name == "bbo-tbt") {
    out.ch = channel::okx_bbo_tbt;
  } else if (channel_name == "tickers") {
    out.ch = channel::okx_tickers;
  } else if (channel_name == "books" || channel_name == "books-l2-tbt" ||
             channel_name == "books50-l2-tbt") {
    out.ch = channel::okx_books;
  } else if (script_mode && !channel_name.empty()) {
    out.ch = channel::okx_trades;  // matched by key only
  } else {
    error = "Wrong URL or channel:" + std::string(channel_name) + ",instId:" + std::string(inst) +
            " doesn't exist. Please use the correct URL, channel and parameters referring to "
            "API document.";
    return false;
  }
  out.symbol = m.find(venue::okx, inst);
  if ((out.symbol < 0 && !script_mode) || inst.empty()) {
    error = "Wrong URL or channel:" + std::string(channel_name) + ",instId:" + std::string(inst) +
            " doesn't exist. Please use the correct URL, channel and parameters referring to "
            "API document.";
    return false;
  }
  out.name = std::string(channel_name);
  out.inst = std::string(inst);
  out.key = out.name + ":" + out.inst;
  return true;
}

// ---- events -------------------------------------------------------------------------------------

bool render_event(const market& m, const market_event& e, const subscription& s,
                  const render_options& opt, int64_t now_ns, std::string& out) {
  if (e.kind == event_kind::script || s.symbol != static_cast<int>(e.symbol) || s.symbol < 0) {
    return false;
  }
  const symbol_state& sym = m.symbols()[e.symbol];
  if (sym.where != s.where) return false;
  out.clear();
  if (s.where == venue::binance) {
    bool wanted = false;
    switch (s.ch) {
      case channel::trade:
      case channel::agg_trade:
        wanted = e.kind == event_kind::trade;
        break;
      case channel::book_ticker:
        wanted = e.kind == event_kind::book && e.top_changed;
        break;
      case channel::depth:
        wanted = e.kind == event_kind::book && !e.suppressed;
        break;
      case channel::kline_1m:
        wanted = e.kind == event_kind::kline;
        break;
      default:
        break;
    }
    if (!wanted) return false;
    if (opt.combined) {
      out += "{\"stream\":";
      append_json_string(out, s.name);
      out += ",\"data\":";
    }
    switch (s.ch) {
      case channel::trade:
        binance_trade(out, sym, e, opt, now_ns);
        break;
      case channel::agg_trade:
        binance_agg_trade(out, sym, e, opt, now_ns);
        break;
      case channel::book_ticker:
        binance_book_ticker(out, sym, e, opt);
        break;
      case channel::depth:
        binance_depth(out, sym, e, opt, now_ns);
        break;
      case channel::kline_1m:
        binance_kline(out, sym, m.kline(e.aux), opt, now_ns);
        break;
      default:
        break;
    }
    if (opt.combined) out += '}';
    return true;
  }
  switch (s.ch) {
    case channel::okx_trades:
      if (e.kind != event_kind::trade) return false;
      okx_trade(out, sym, e, s, opt, now_ns);
      return true;
    case channel::okx_bbo_tbt:
      if (e.kind != event_kind::book || !e.top_changed) return false;
      okx_bbo(out, e, s, opt, now_ns);
      return true;
    case channel::okx_tickers:
      // Every trade and every change of the touch, like OKX's push on change.
      if (e.kind != event_kind::trade && !(e.kind == event_kind::book && e.top_changed)) {
        return false;
      }
      okx_ticker(out, sym, e, s, opt, now_ns);
      return true;
    case channel::okx_books:
      if (e.kind != event_kind::book || e.suppressed) return false;
      okx_book_update(out, e, s, opt, now_ns);
      return true;
    default:
      return false;
  }
}

void render_okx_book_snapshot(const symbol_state& sym, const subscription& s, int64_t now_ns,
                              std::string& out) {
  out.clear();
  okx_prefix(out, s, "snapshot");
  out += "{\"asks\":";
  append_okx_side(out, sym.book.asks().data(), std::min<size_t>(400, sym.book.asks().size()));
  out += ",\"bids\":";
  append_okx_side(out, sym.book.bids().data(), std::min<size_t>(400, sym.book.bids().size()));
  out += ",\"ts\":";
  append_ms_string(out, now_ns);
  out += ",\"checksum\":";
  append_int(out, okx_checksum(sym.book));
  out += ",\"prevSeqId\":-1,\"seqId\":";
  append_uint(out, sym.update_id);
  out += "}]}";
}

}  // namespace cats::fake
