// The parameters handed to a strategy's create(), owned by the host.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cats {

class param_set {
 public:
  struct entry {
    std::string name;
    cats_param_type type = CATS_PARAM_STRING;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::string s;
  };

  void set(entry e);
  const entry* find(const std::string& name) const noexcept;
  const std::vector<entry>& entries() const noexcept { return entries_; }
  /// A C view of the entries; valid until the set is modified or destroyed.
  const cats_params_t* c_params();
  /// "fast=10 slow=30 symbol=BINANCE:BTCUSDT" for logs and reports.
  std::string to_string() const;
  /// The value as TOML text ("10", "1.5", "true", "\"x\"").
  static std::string value_text(const entry& e);

 private:
  std::vector<entry> entries_;
  std::vector<cats_param_value_t> c_items_;
  cats_params_t c_{};
};

}  // namespace cats
