#include "cats/core/instrument.hpp"

#include <algorithm>
#include <cctype>

namespace cats {

namespace {
bool valid_part(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}
std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

bool split_symbol(std::string_view text, std::string_view default_venue, std::string& venue,
                  std::string& name) {
  const size_t colon = text.find(':');
  std::string_view v = default_venue;
  std::string_view n = text;
  if (colon != std::string_view::npos) {
    v = text.substr(0, colon);
    n = text.substr(colon + 1);
  }
  if (!valid_part(v) || !valid_part(n)) return false;
  venue = upper(v);
  name = upper(n);
  return true;
}

void guess_base_quote(std::string_view name, std::string& base, std::string& quote) {
  base.clear();
  quote.clear();
  if (const size_t dash = name.find_first_of("-/"); dash != std::string_view::npos) {
    base = std::string(name.substr(0, dash));
    const std::string_view rest = name.substr(dash + 1);
    quote = std::string(rest.substr(0, rest.find_first_of("-/")));
    return;
  }
  // Longest suffix first so that "FDUSD" wins over "USD".
  static constexpr std::string_view quotes[] = {"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP",
                                                "DAI",   "EUR",  "TRY",  "BRL",  "GBP",  "JPY",
                                                "BTC",   "ETH",  "BNB",  "USD"};
  for (std::string_view q : quotes) {
    if (name.size() > q.size() && name.substr(name.size() - q.size()) == q) {
      base = std::string(name.substr(0, name.size() - q.size()));
      quote = std::string(q);
      return;
    }
  }
}

uint32_t instrument_registry::add(instrument_info inst) {
  if (const instrument_info* existing = find(inst.symbol)) return existing->id;
  inst.id = static_cast<uint32_t>(items_.size() + 1);
  items_.push_back(std::move(inst));
  return items_.back().id;
}

const instrument_info* instrument_registry::find(std::string_view symbol) const noexcept {
  const bool qualified = symbol.find(':') != std::string_view::npos;
  const instrument_info* match = nullptr;
  for (const instrument_info& i : items_) {
    if (qualified) {
      if (iequals(i.symbol, symbol)) return &i;
    } else if (iequals(i.name, symbol)) {
      if (match != nullptr) return nullptr;  // ambiguous across venues
      match = &i;
    }
  }
  return match;
}

const instrument_info* instrument_registry::get(uint32_t id) const noexcept {
  if (id == 0 || id > items_.size()) return nullptr;
  return &items_[id - 1];
}

void instrument_registry::set_rules(uint32_t id, int64_t tick_size, int64_t lot_size,
                                    int64_t min_quantity, int64_t min_notional) noexcept {
  if (id == 0 || id > items_.size()) return;
  instrument_info& i = items_[id - 1];
  i.tick_size = tick_size;
  i.lot_size = lot_size;
  i.min_quantity = min_quantity;
  i.min_notional = min_notional;
}

}  // namespace cats
