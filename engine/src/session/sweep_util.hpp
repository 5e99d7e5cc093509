// Helpers shared by the sweep runner and its outputs (internal to the session area).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cats/session/sweep.hpp"

namespace cats::sweep_util {

/// `s` split at `sep` (util's split), each part trimmed.
std::vector<std::string> split_trimmed(std::string_view s, char sep);
/// A number in a range spec: an integer or a decimal (kept exact as 8-decimal fixed point).
bool parse_number(const std::string& text, int64_t& raw, bool& integer);
std::string format_number(int64_t raw, bool integer);
/// `v` with `prec` decimals, or "" when it is not finite.
std::string num(double v, int prec);
/// The metrics written per run, in this order.
extern const std::vector<std::string> table_metrics;
/// Is `a` better than `b`? NaN (undefined) ranks last.
bool better(double a, double b, bool lower);
/// results.csv, results.json, best.txt and report.html in options.out_dir.
void write_sweep_files(const sweep_options& options, const sweep_result& result);

}  // namespace cats::sweep_util
