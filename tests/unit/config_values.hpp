// Config values as the TOML layer makes them, for tests that hand parameters to build_params.
#pragma once

#include <string>

#include "cats/config/config.hpp"

namespace cats::test {

inline config_value int_value(int64_t v, std::string where = {}) {
  config_value c;
  c.type = config_value::kind::integer;
  c.i = v;
  c.type_name = "integer";
  c.where = std::move(where);
  return c;
}

inline config_value str_value(const std::string& v, std::string where = {}) {
  config_value c;
  c.type = config_value::kind::string;
  c.s = v;
  c.type_name = "string";
  c.where = std::move(where);
  return c;
}

inline config_value bool_value(bool v, std::string where = {}) {
  config_value c;
  c.type = config_value::kind::boolean;
  c.b = v;
  c.type_name = "boolean";
  c.where = std::move(where);
  return c;
}

}  // namespace cats::test
