#include "cats/core/params.hpp"

#include "cats/util/json_writer.hpp"

namespace cats {

void param_set::set(entry e) {
  for (entry& existing : entries_) {
    if (existing.name == e.name) {
      existing = std::move(e);
      return;
    }
  }
  entries_.push_back(std::move(e));
}

const param_set::entry* param_set::find(const std::string& name) const noexcept {
  for (const entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

const cats_params_t* param_set::c_params() {
  c_items_.clear();
  for (const entry& e : entries_) {
    cats_param_value_t v{};
    v.name = {e.name.data(), e.name.size()};
    v.type = e.type;
    v.bool_value = e.b ? 1 : 0;
    v.int_value = e.i;
    v.float_value = e.f;
    v.string_value = {e.s.data(), e.s.size()};
    c_items_.push_back(v);
  }
  c_ = {};
  c_.struct_size = sizeof c_;
  c_.count = static_cast<uint32_t>(c_items_.size());
  c_.item_size = sizeof(cats_param_value_t);
  c_.items = c_items_.data();
  return &c_;
}

std::string param_set::value_text(const entry& e) {
  switch (e.type) {
    case CATS_PARAM_BOOL:
      return e.b ? "true" : "false";
    case CATS_PARAM_INT:
      return std::to_string(e.i);
    case CATS_PARAM_FLOAT: {
      std::string s = json_writer::format_double(e.f);
      if (s.find_first_of(".en") == std::string::npos) s += ".0";
      return s;
    }
    default: {
      std::string out;
      json_writer::escape(e.s, out);
      return out;
    }
  }
}

std::string param_set::to_string() const {
  std::string out;
  for (const entry& e : entries_) {
    if (!out.empty()) out += ' ';
    out += e.name + "=" + value_text(e);
  }
  return out;
}

}  // namespace cats
