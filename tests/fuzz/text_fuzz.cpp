// Fuzz target: the small text parsers (URLs, ISO 8601 times, durations, latency specs and
// fixed-point decimals) must accept or refuse any text without a crash or undefined behaviour (run
// it under ASan and UBSan), and what they accept must keep their promises: a refusal says why, a
// value printed back parses to the same value, a decimal has the value an independent reading
// gives it. The input's first byte ('0' to '4') chooses the parser, the rest is its text. Driven
// like kline_csv_fuzz.cpp: libFuzzer with clang, the seeded mutation driver in the test suite.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "cats/config/sim_settings.hpp"
#include "cats/core/fixed.hpp"
#include "cats/net/ws_client.hpp"
#include "cats/util/time.hpp"

namespace {

using cats::int128_t;

// The input's first 8 bytes as a number, for the checks that start from a value.
std::optional<int64_t> raw_value(std::string_view text) {
  if (text.size() < 8) return std::nullopt;
  int64_t v = 0;
  std::memcpy(&v, text.data(), 8);
  return v;
}

// ---- URLs (net/ws_client.hpp) ------------------------------------------------------------------

void check_url(std::string_view text) {
  cats::net::url_parts u;
  std::string error;
  if (!cats::net::parse_url(text, u, error)) {
    if (error.empty()) __builtin_trap();  // "False with `error` set"
    return;
  }
  // ws_client.cpp, parse_url: the scheme is wss or https, the host is not empty, the port is 1 to
  // 5 digits in [1, 65535] and the target starts with '/'.
  if ((u.scheme != "wss" && u.scheme != "https") || u.host.empty() || u.port.empty() ||
      u.port.size() > 5 || u.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(u.port) < 1 || std::stoi(u.port) > 65535 || u.target.empty() || u.target[0] != '/')
    __builtin_trap();
  // Printed back as scheme://host:port/target, the URL parses to the same parts. (A host with a
  // ']' is taken as a bracketed IPv6 literal and keeps its ":port" in the host, so it cannot be
  // printed back this way.)
  if (u.host.find(']') != std::string::npos) return;
  cats::net::url_parts again;
  if (!cats::net::parse_url(u.scheme + "://" + u.host + ":" + u.port + u.target, again, error) ||
      again.scheme != u.scheme || again.host != u.host || again.port != u.port ||
      again.target != u.target)
    __builtin_trap();
}

// ---- times (util/time.hpp) ---------------------------------------------------------------------

void check_time(std::string_view text) {
  // A time it accepts, in a year that the int64 nanosecond clock holds whole (the clock spans
  // 1677-09-21 to 2262-04-11; outside, parse_iso8601 overflows, which UBSan reports).
  if (const auto ts = cats::parse_iso8601(text)) {
    const int year =
        (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
    if (year >= 1678 && year <= 2261) {
      // Printed back (whole seconds, so without a fraction), it parses to the same time; an
      // out-of-range day or a leap second comes back normalised.
      const auto again = cats::parse_iso8601(cats::format_iso8601(*ts));
      if (!again || *again != *ts) __builtin_trap();
    }
  }
  // Any whole second of the years parse_iso8601 takes (1678 to 2261, cats::year_fits_ns) prints
  // as text that parses back to it.
  if (const auto raw = raw_value(text)) {
    const int64_t ts = *raw / cats::ns_per_s * cats::ns_per_s;
    const int64_t first = cats::days_from_civil(1678, 1, 1) * cats::ns_per_day;
    const int64_t end = cats::days_from_civil(2262, 1, 1) * cats::ns_per_day;
    if (ts >= first && ts < end) {
      const std::string printed = cats::format_iso8601(ts);
      const auto again = cats::parse_iso8601(printed);
      if (!again || *again != ts) __builtin_trap();
      char buf[24];
      if (cats::format_iso8601_seconds(ts, buf) != 20 ||
          std::string_view(buf, 20) != printed.substr(0, 20))
        __builtin_trap();
    }
  }
}

// ---- durations (util/time.hpp) -----------------------------------------------------------------

// The exact value of an accepted "<digits>[.<digits>]<unit>" for the units that are powers of ten
// of a nanosecond, computed independently in 128 bits; nothing for other units.
std::optional<int128_t> exact_duration(std::string_view text) {
  if (text == "0") return 0;  // bare_zero
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  const std::string_view unit = text.substr(i);
  int128_t unit_ns = 0;
  if (unit == "ns") unit_ns = 1;
  if (unit == "us") unit_ns = 1'000;
  if (unit == "ms") unit_ns = 1'000'000;
  if (unit == "s") unit_ns = 1'000'000'000;
  if (unit_ns == 0) return std::nullopt;
  int128_t whole = 0, frac = 0, frac_scale = 1;
  bool dot = false;
  for (const char c : text.substr(0, i)) {
    if (c == '.') {
      dot = true;
    } else if (!dot) {
      whole = whole * 10 + (c - '0');
      if (whole > std::numeric_limits<int64_t>::max()) return std::nullopt;  // cannot be accepted
    } else if (frac_scale < unit_ns) {
      frac = frac * 10 + (c - '0');
      frac_scale *= 10;
    }
  }
  return whole * unit_ns + frac * (unit_ns / frac_scale);
}

void check_duration(std::string_view text) {
  // The rules of the latency spec (sim_settings.cpp), of bar intervals (parse_interval) and one
  // with every unit.
  struct rule_set {
    cats::duration_rules rules;
    bool check_exact;
  };
  static constexpr rule_set sets[] = {
      {{cats::duration_ns | cats::duration_us | cats::duration_ms | cats::duration_s, true, true,
        false, std::numeric_limits<int64_t>::max(), int64_t{3600} * cats::ns_per_s},
       true},
      {{cats::duration_s | cats::duration_m | cats::duration_h | cats::duration_d |
            cats::duration_w,
        false, false, true, 10'000'000, 3653 * cats::ns_per_day},
       false},
      {{0xFF, true, false, true, 1'000'000'000, std::numeric_limits<int64_t>::max()}, true},
  };
  for (const rule_set& s : sets) {
    const auto ns = cats::parse_duration(text, s.rules);
    if (!ns) continue;
    // "at most max_count units and max_ns", never negative, 0 refused when positive.
    if (*ns < 0 || *ns > s.rules.max_ns || (s.rules.positive && *ns == 0)) __builtin_trap();
    // "into ns exactly, with no floating point".
    if (s.check_exact) {
      if (const auto want = exact_duration(text); want && *want != *ns) __builtin_trap();
    }
  }
  // A bar interval prints (format_interval) as text that parses back to it.
  if (const auto ns = cats::parse_interval(text)) {
    if (*ns <= 0 || *ns % cats::ns_per_s != 0) __builtin_trap();
    const auto again = cats::parse_interval(cats::format_interval(*ns));
    if (!again || *again != *ns) __builtin_trap();
  }
}

// ---- latency specs (config/sim_settings.hpp) ---------------------------------------------------

void check_latency(std::string_view text) {
  cats::latency_model m;
  std::string error;
  if (!cats::parse_latency(text, m, error)) {
    if (error.empty()) __builtin_trap();  // "On failure returns false and says why"
    return;
  }
  // Durations are at most an hour and not negative; a uniform range does not run backwards;
  // lognormal's sigma is in [0, 10].
  constexpr int64_t hour = int64_t{3600} * cats::ns_per_s;
  using kind = cats::latency_model::kind;
  if (m.a_ns < 0 || m.a_ns > hour || m.b_ns < 0 || m.b_ns > hour ||
      (m.type == kind::uniform && m.b_ns < m.a_ns) ||
      (m.type == kind::lognormal && !(m.sigma >= 0 && m.sigma <= 10)))
    __builtin_trap();
  // format_latency spells it as the config does: that text parses to the same model (sigma
  // printed with %g, so only its spelling is compared) and prints the same again.
  const std::string printed = cats::format_latency(m);
  cats::latency_model again;
  if (!cats::parse_latency(printed, again, error) || again.type != m.type || again.a_ns != m.a_ns ||
      again.b_ns != m.b_ns || cats::format_latency(again) != printed)
    __builtin_trap();
}

// ---- fixed-point decimals (core/fixed.hpp) -----------------------------------------------------

// parse_fixed's rules read independently: an optional sign, digits with at most one '.', at
// least one digit, no non-zero digit beyond the 8th decimal, at most INT64_MAX at scale 10^8.
std::optional<int64_t> reference_fixed(std::string_view t) {
  bool neg = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    neg = t[0] == '-';
    t.remove_prefix(1);
  }
  int128_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool dot = false, digits = false, too_large = false;
  for (const char c : t) {
    if (c == '.') {
      if (dot) return std::nullopt;
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    digits = true;
    if (!dot) {
      whole = whole * 10 + (c - '0');
      too_large = too_large || whole > std::numeric_limits<int64_t>::max();
      if (too_large) whole = 0;  // keeps reading for characters that make it invalid instead
    } else if (frac_digits < 8) {
      frac = frac * 10 + (c - '0');
      ++frac_digits;
    } else if (c != '0') {
      return std::nullopt;
    }
  }
  if (!digits || too_large) return std::nullopt;
  for (int i = frac_digits; i < 8; ++i) frac *= 10;
  const int128_t mag = whole * cats::fixed_scale + frac;
  if (mag > std::numeric_limits<int64_t>::max()) return std::nullopt;
  return static_cast<int64_t>(neg ? -mag : mag);
}

// fixed_to_string(v) parses back to v (every value but INT64_MIN, whose magnitude is out of range).
void check_fixed_round_trip(int64_t v) {
  if (v == std::numeric_limits<int64_t>::min()) return;
  const std::string text = cats::fixed_to_string(v);
  int64_t again = 0;
  if (cats::parse_fixed(text, again) != cats::parse_error::ok || again != v ||
      std::string_view(cats::fixed_text(v)) != text)
    __builtin_trap();
}

void check_fixed(std::string_view text) {
  int64_t v = 0;
  const cats::parse_error e = cats::parse_fixed(text, v);
  const std::optional<int64_t> want = reference_fixed(text);
  if ((e == cats::parse_error::ok) != want.has_value()) __builtin_trap();
  if (e == cats::parse_error::ok) {
    if (v != *want) __builtin_trap();
    check_fixed_round_trip(v);
  } else if (cats::describe(e)[0] == '\0') {
    __builtin_trap();
  }
  // The hot form, in a buffer with the padding it may read: it never reports invalid_character,
  // stops inside the text, and what it accepted parse_fixed reads the same.
  std::string padded(text);
  padded.append(16, '\0');
  const char* p = padded.data();
  int64_t hot = 0;
  const cats::parse_error he = cats::parse_fixed_prefix(p, hot);
  if (he == cats::parse_error::invalid_character || p < padded.data() ||
      p > padded.data() + text.size())
    __builtin_trap();
  if (he == cats::parse_error::ok) {
    int64_t again = 0;
    if (cats::parse_fixed(std::string_view(padded.data(), static_cast<size_t>(p - padded.data())),
                          again) != cats::parse_error::ok ||
        again != hot)
      __builtin_trap();
  }
  if (const auto raw = raw_value(text)) check_fixed_round_trip(*raw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (static_cast<uint8_t>(data[0] - '0') % 5) {
    case 0:
      check_url(text);
      break;
    case 1:
      check_time(text);
      break;
    case 2:
      check_duration(text);
      break;
    case 3:
      check_latency(text);
      break;
    default:
      check_fixed(text);
      break;
  }
  return 0;
}

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp): a selector
// byte and a realistic text for that parser.
extern const char* const fuzz_target_name = "text_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  auto pick = [&](std::initializer_list<const char*> xs) -> std::string {
    return *(xs.begin() + next(rng) % xs.size());
  };
  auto num = [&](uint64_t below) { return std::to_string(next(rng) % below); };
  const uint64_t which = next(rng) % 5;
  std::string out(1, static_cast<char>('0' + which));
  switch (which) {
    case 0:
      out += pick({"wss://", "https://"});
      out += pick({"stream.binance.com", "ws.okx.com", "127.0.0.1", "testnet.binance.vision",
                   "[::1]", "api.binance.com"});
      if (next(rng) % 2) out += ":" + pick({"9443", "8443", "443", "1"});
      out += pick({"", "/", "/ws", "/ws/v5/public", "/api/v3/exchangeInfo?symbol=BTCUSDT",
                   "?streams=btcusdt@trade/btcusdt@depth@100ms", "/stream?streams=a"});
      break;
    case 1: {
      // 2017 to 2030, to the second.
      const int64_t ts =
          (1'483'228'800 + static_cast<int64_t>(next(rng) % 441'763'200)) * cats::ns_per_s;
      std::string t = cats::format_iso8601(ts);  // "2024-01-31T23:59:00Z"
      switch (next(rng) % 4) {
        case 0:
          t.resize(10);  // the date alone
          break;
        case 1:
          t[10] = ' ';
          t.resize(16);  // "2024-01-31 23:59"
          break;
        case 2:
          t.pop_back();  // without the Z
          break;
        default:
          break;
      }
      out += t;
      break;
    }
    case 2:
      out += num(next(rng) % 2 ? 1000 : 10'000'000);
      if (next(rng) % 3 == 0) out += "." + num(1000);
      out += pick({"ns", "us", "ms", "s", "m", "h", "d", "w"});
      break;
    case 3: {
      auto d = [&] { return num(500) + pick({"ns", "us", "ms", "s"}); };
      switch (next(rng) % 4) {
        case 0:
          out += d();
          break;
        case 1:
          out += "uniform:" + num(5) + "ms:" + std::to_string(5 + next(rng) % 50) + "ms";
          break;
        case 2:
          out += "normal:" + d() + ":" + d();
          break;
        default:
          out += "lognormal:" + d() + ":" + pick({"0.5", "1", "0.25", "2.5e-1", "10"});
          break;
      }
      break;
    }
    default: {
      const int64_t v = static_cast<int64_t>(next(rng) % 10'000'000'000'000);
      std::string t = cats::fixed_to_string(next(rng) % 4 == 0 ? -v : v);
      if (next(rng) % 2) {  // Binance pads to 8 decimals
        const size_t dot = t.find('.');
        if (dot == std::string::npos) t += ".";
        t.append(8 - (t.size() - t.find('.') - 1), '0');
      }
      if (next(rng) % 5 == 0) t = "+" + t;
      out += t;
      break;
    }
  }
  return out;
}
