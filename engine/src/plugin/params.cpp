#include "cats/plugin/params.hpp"

#include <toml++/toml.h>

#include <charconv>

#include "cats/util/json_writer.hpp"

namespace cats {

bool parse_param_default(const plugin_library::param_info& spec, param_set::entry& out,
                         std::string& error) {
  out = {};
  out.name = spec.name;
  out.type = spec.type;
  const std::string& t = spec.default_value;
  switch (spec.type) {
    case CATS_PARAM_BOOL:
      if (t == "true" || t == "false") {
        out.b = t == "true";
        return true;
      }
      break;
    case CATS_PARAM_INT: {
      const auto r = std::from_chars(t.data(), t.data() + t.size(), out.i);
      if (r.ec == std::errc() && r.ptr == t.data() + t.size()) return true;
      break;
    }
    case CATS_PARAM_FLOAT: {
      const auto r = std::from_chars(t.data(), t.data() + t.size(), out.f);
      if (r.ec == std::errc() && r.ptr == t.data() + t.size()) return true;
      break;
    }
    case CATS_PARAM_STRING:
      try {
        const toml::table tbl = toml::parse("v = " + t);
        if (const auto* s = tbl.get_as<std::string>("v")) {
          out.s = s->get();
          return true;
        }
      } catch (const toml::parse_error&) {
      }
      out.s = t;  // a bare word is taken as it is
      return true;
    default:
      break;
  }
  error = "default value '" + t + "' of parameter '" + spec.name + "' is not a valid " +
          param_type_name(spec.type);
  return false;
}

param_set build_params(const strategy_section& s, const plugin_library& lib) {
  param_set out;
  const std::string label = "strategy '" + s.name + "' (" + lib.name() + " " + lib.version() + ")";
  const auto& specs = lib.params();
  std::string valid;
  for (const auto& p : specs) valid += (valid.empty() ? "" : ", ") + p.name;
  for (const auto& [key, v] : s.params) {
    const plugin_library::param_info* spec = nullptr;
    for (const auto& p : specs)
      if (p.name == key) spec = &p;
    if (spec == nullptr && !specs.empty())
      throw config_error(v.where + ": " + label + " has no parameter '" + key +
                         "'; valid: " + valid);
    param_set::entry e;
    e.name = key;
    const cats_param_type want = spec != nullptr                          ? spec->type
                                 : v.type == config_value::kind::boolean  ? CATS_PARAM_BOOL
                                 : v.type == config_value::kind::integer  ? CATS_PARAM_INT
                                 : v.type == config_value::kind::floating ? CATS_PARAM_FLOAT
                                                                          : CATS_PARAM_STRING;
    e.type = want;
    bool ok = false;
    switch (want) {
      case CATS_PARAM_BOOL:
        ok = v.type == config_value::kind::boolean;
        e.b = v.b;
        break;
      case CATS_PARAM_INT:
        ok = v.type == config_value::kind::integer;
        e.i = v.i;
        break;
      case CATS_PARAM_FLOAT:
        ok = v.type == config_value::kind::floating || v.type == config_value::kind::integer;
        e.f = v.type == config_value::kind::integer ? static_cast<double>(v.i) : v.f;
        break;
      default:
        ok = v.type == config_value::kind::string;
        e.s = v.s;
        break;
    }
    if (!ok) {
      std::string got = v.type_name;
      if (v.type == config_value::kind::string) {
        got += ' ';
        json_writer::escape(v.s, got);
      } else if (v.type == config_value::kind::integer) {
        got += " " + std::to_string(v.i);
      }
      throw config_error(v.where + ": strategy." + s.name + "." + key + ": expected " +
                         param_type_name(want) + ", got " + got);
    }
    out.set(std::move(e));
  }
  for (const auto& spec : specs) {
    if (out.find(spec.name) != nullptr) continue;
    if (spec.default_value.empty())
      throw config_error(s.where + ": " + label + " requires the parameter '" + spec.name + "' (" +
                         spec.description + ")");
    param_set::entry e;
    std::string err;
    if (!parse_param_default(spec, e, err)) throw config_error(lib.path().string() + ": " + err);
    out.set(std::move(e));
  }
  // Declared order first, so that reports list parameters the way the plugin documents them.
  param_set ordered;
  for (const auto& spec : specs)
    if (const auto* e = out.find(spec.name)) ordered.set(*e);
  for (const auto& e : out.entries())
    if (ordered.find(e.name) == nullptr) ordered.set(e);
  return ordered;
}

}  // namespace cats
