#include "cats/config/sim_settings.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cats/util/text.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

// "5ms", "1.5ms", "250us", "100ns", "2s", "0" -> ns, exactly; at most an hour.
bool parse_duration(std::string_view t, int64_t& out) {
  static constexpr duration_rules latency{duration_ns | duration_us | duration_ms | duration_s,
                                          true,
                                          true,
                                          false,
                                          INT64_MAX,
                                          int64_t{3600} * 1'000'000'000};
  const std::optional<int64_t> ns = cats::parse_duration(t, latency);
  if (ns) out = *ns;
  return ns.has_value();
}

std::string format_duration_ns(int64_t ns) {
  if (ns != 0 && ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns != 0 && ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns != 0 && ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}
}  // namespace

bool parse_latency(std::string_view text, latency_model& out, std::string& error) {
  const std::string expected =
      "expected a duration such as \"5ms\", or \"uniform:<low>:<high>\", "
      "\"normal:<mean>:<stddev>\", \"lognormal:<median>:<sigma>\" (units ns, us, ms, s), got "
      "\"" +
      std::string(text) + "\"";
  const std::vector<std::string_view> parts = split(text, ':');
  latency_model m;
  if (parts.size() == 1) {
    if (!parse_duration(parts[0], m.a_ns)) return error = expected, false;
    out = m;
    return true;
  }
  if (parts.size() != 3) return error = expected, false;
  if (parts[0] == "uniform") {
    m.type = latency_model::kind::uniform;
    if (!parse_duration(parts[1], m.a_ns) || !parse_duration(parts[2], m.b_ns))
      return error = expected, false;
    if (m.b_ns < m.a_ns)
      return error = "uniform latency: high is below low in \"" + std::string(text) + "\"", false;
  } else if (parts[0] == "normal") {
    m.type = latency_model::kind::normal;
    if (!parse_duration(parts[1], m.a_ns) || !parse_duration(parts[2], m.b_ns))
      return error = expected, false;
  } else if (parts[0] == "lognormal") {
    m.type = latency_model::kind::lognormal;
    if (!parse_duration(parts[1], m.a_ns)) return error = expected, false;
    const std::string sigma(parts[2]);
    char* end = nullptr;
    m.sigma = std::strtod(sigma.c_str(), &end);
    if (sigma.empty() || end != sigma.c_str() + sigma.size() || !(m.sigma >= 0) || m.sigma > 10)
      return error = "lognormal latency: sigma must be a number in [0, 10], got \"" + sigma + "\"",
             false;
  } else {
    return error = expected, false;
  }
  out = m;
  return true;
}

std::string format_latency(const latency_model& m) {
  switch (m.type) {
    case latency_model::kind::fixed:
      return format_duration_ns(m.a_ns);
    case latency_model::kind::uniform:
      return "uniform:" + format_duration_ns(m.a_ns) + ":" + format_duration_ns(m.b_ns);
    case latency_model::kind::normal:
      return "normal:" + format_duration_ns(m.a_ns) + ":" + format_duration_ns(m.b_ns);
    case latency_model::kind::lognormal: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", m.sigma);
      return "lognormal:" + format_duration_ns(m.a_ns) + ":" + buf;
    }
  }
  return {};
}

}  // namespace cats
