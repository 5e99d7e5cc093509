// The glue between the C ABI (cats/sdk.h) and the C++ layer (cats/strategy.hpp): the descriptor
// CATS_EXPORT_STRATEGY returns, the instance behind each cats_strategy_t, the parameter table
// built at compile time, and the boundary that turns every exception into a status code and a
// last-error message. Not for direct use: include cats/strategy.hpp.
#ifndef CATS_DETAIL_GLUE_HPP
#define CATS_DETAIL_GLUE_HPP

#include <cats/strategy.hpp>

namespace cats {

namespace detail {

struct instance {
  instance(const cats_host_api_t* api, cats_host_t* host) : ctx(api, host) {}
  context ctx;
  std::unique_ptr<strategy> impl;
  std::string last_error;
};

inline instance* from(cats_strategy_t* s) noexcept {
  return reinterpret_cast<instance*>(s);
}

template <class F>
cats_status_t guard(instance* in, F&& f) noexcept {
  auto remember = [in](const char* what) noexcept {
    try {
      in->last_error = what;
    } catch (...) {
      in->last_error.clear();
    }
  };
  try {
    f();
    return CATS_OK;
  } catch (const cats::error& e) {
    remember(e.what());
    return e.status() < 0 ? e.status() : CATS_E_FAILED;
  } catch (const std::exception& e) {
    remember(e.what());
    return CATS_E_EXCEPTION;
  } catch (...) {
    remember("unknown exception");
    return CATS_E_EXCEPTION;
  }
}

inline void copy_error(char* buf, uint32_t cap, const char* msg) noexcept {
  if (buf == nullptr || cap == 0) return;
  const size_t n = std::min<size_t>(std::strlen(msg), cap - 1);
  std::memcpy(buf, msg, n);
  buf[n] = '\0';
}

// The event as the struct this SDK knows: used in place when the host wrote at least that much,
// otherwise copied into a zeroed local so fields an older host did not write read as zero.
template <class Event, class View, class Call>
void deliver_as(const cats_event_t& e, Call&& call) {
  if (e.struct_size >= sizeof(Event)) {
    call(View(reinterpret_cast<const Event&>(e)));
  } else {
    Event copy{};
    std::memcpy(&copy, &e, e.struct_size);
    call(View(copy));
  }
}

inline void dispatch(strategy& s, const cats_event_t& e) {
  switch (e.type) {
    case CATS_EVENT_BAR:
      deliver_as<cats_bar_event_t, bar>(e, [&](const bar& v) { s.on_bar(v); });
      break;
    case CATS_EVENT_TRADE:
      deliver_as<cats_trade_event_t, trade>(e, [&](const trade& v) { s.on_trade(v); });
      break;
    case CATS_EVENT_QUOTE:
      deliver_as<cats_quote_event_t, quote>(e, [&](const quote& v) { s.on_quote(v); });
      break;
    case CATS_EVENT_BOOK:
      deliver_as<cats_book_event_t, book>(e, [&](const book& v) { s.on_book(v); });
      break;
    case CATS_EVENT_ORDER_UPDATE:
      deliver_as<cats_order_update_event_t, order_update>(
          e, [&](const order_update& v) { s.on_order_update(v); });
      break;
    case CATS_EVENT_FILL:
      deliver_as<cats_fill_event_t, fill>(e, [&](const fill& v) { s.on_fill(v); });
      break;
    case CATS_EVENT_TIMER:
      deliver_as<cats_timer_event_t, timer>(e, [&](const timer& v) { s.on_timer(v); });
      break;
    default:
      s.on_other_event(e);
      break;
  }
}

// on_bars (ABI 1.5): the bars of a span through the strategy's own on_bar, called by its static
// type (no virtual call, no C call per bar), each after its index is written for the host, until
// the host asks for a stop. `done` counts the bar that throws. Every C++ strategy takes runs of
// bars this way; nothing in the strategy changes.
template <class T>
void run_bars(T& s, cats_bar_span_t& span, uint32_t& done) {
  const char* at = reinterpret_cast<const char*>(span.first);
  for (uint32_t i = 0; i < span.count; ++i, at += span.stride) {
    span.current = i;
    done = i + 1;
    const cats_bar_event_t& e = *reinterpret_cast<const cats_bar_event_t*>(at);
    deliver_as<cats_bar_event_t, bar>(e.header, [&](const bar& v) {
      // The instance is exactly a T: its own on_bar, called directly when it is public (a
      // private override is reached through the base, as on_event does).
      if constexpr (requires(T & t, const bar& b) { t.T::on_bar(b); })
        s.T::on_bar(v);
      else
        static_cast<strategy&>(s).on_bar(v);
    });
    if (span.stop != 0) return;
  }
}

// The declared parameters as a C table, built at compile time: the entry point allocates nothing.
template <class T>
constexpr auto make_param_table() {
  std::array<cats_param_spec_t, std::size(T::params)> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    const param_spec& p = T::params[i];
    out[i].struct_size = sizeof(cats_param_spec_t);
    out[i].type = p.type;
    out[i].name = {p.name, std::char_traits<char>::length(p.name)};
    out[i].default_value = {p.default_value, std::char_traits<char>::length(p.default_value)};
    out[i].description = {p.description, std::char_traits<char>::length(p.description)};
  }
  return out;
}

template <class T>
struct param_table_holder {
  static constexpr auto table = make_param_table<T>();
};

template <class T>
const cats_param_spec_t* param_table(uint32_t& count) noexcept {
  if constexpr (requires { T::params; }) {
    count = static_cast<uint32_t>(param_table_holder<T>::table.size());
    return param_table_holder<T>::table.data();
  } else {
    count = 0;
    return nullptr;
  }
}

// The minor version the plugin states: the strategy's own `static constexpr uint32_t abi_minor`
// if it declares one (so that it loads into older hosts), else the SDK's.
template <class T>
constexpr uint32_t required_abi_minor() noexcept {
  if constexpr (requires { T::abi_minor; }) {
    static_assert(T::abi_minor <= CATS_ABI_MINOR,
                  "abi_minor is newer than this SDK: build the strategy with a newer SDK");
    return T::abi_minor;
  } else {
    return CATS_ABI_MINOR;
  }
}

template <class T>
const cats_strategy_descriptor_t* entry(const char* name, const char* version,
                                        const char* description) noexcept {
  static_assert(std::is_base_of_v<strategy, T>, "a strategy derives from cats::strategy");
  static_assert(std::is_constructible_v<T, context&, const params&>,
                "a strategy has a constructor T(cats::context&, const cats::params&)");
  static const cats_strategy_descriptor_t desc = [&] {
    cats_strategy_descriptor_t d{};
    d.struct_size = sizeof d;
    d.abi_major = CATS_ABI_MAJOR;
    d.abi_minor = required_abi_minor<T>();
    d.name = {name, std::strlen(name)};
    d.version = {version, std::strlen(version)};
    d.description = {description, std::strlen(description)};
    d.params = param_table<T>(d.param_count);
    d.param_spec_size = sizeof(cats_param_spec_t);
    d.create = [](const cats_host_api_t* api, cats_host_t* host, const cats_params_t* p,
                  cats_strategy_t** out, char* err, uint32_t cap) noexcept -> cats_status_t {
      if (out == nullptr || api == nullptr) return CATS_E_INVALID_ARGUMENT;
      *out = nullptr;
      try {
        auto in = std::make_unique<instance>(api, host);
        const params values(p);
        in->impl = std::make_unique<T>(in->ctx, values);
        *out = reinterpret_cast<cats_strategy_t*>(in.release());
        return CATS_OK;
      } catch (const cats::error& e) {
        copy_error(err, cap, e.what());
        return e.status() < 0 ? e.status() : CATS_E_FAILED;
      } catch (const std::exception& e) {
        copy_error(err, cap, e.what());
        return CATS_E_EXCEPTION;
      } catch (...) {
        copy_error(err, cap, "unknown exception");
        return CATS_E_EXCEPTION;
      }
    };
    d.destroy = [](cats_strategy_t* s) noexcept { delete from(s); };
    d.on_start = [](cats_strategy_t* s) noexcept {
      instance* in = from(s);
      return guard(in, [&] { in->impl->on_start(); });
    };
    d.on_event = [](cats_strategy_t* s, const cats_event_t* e) noexcept {
      instance* in = from(s);
      return guard(in, [&] { dispatch(*in->impl, *e); });
    };
    d.on_stop = [](cats_strategy_t* s) noexcept {
      instance* in = from(s);
      return guard(in, [&] { in->impl->on_stop(); });
    };
    d.save_state = [](cats_strategy_t* s, const cats_state_sink_t* sink,
                      uint32_t* out_version) noexcept {
      instance* in = from(s);
      return guard(in, [&] {
        state_writer w;
        const uint32_t v = in->impl->save_state(w);
        const auto& b = w.bytes();
        const cats_status_t st = sink->write(sink->context, b.data(), b.size());
        if (st != CATS_OK) throw cats::error("host refused the state blob", st);
        if (out_version != nullptr) *out_version = v;
      });
    };
    d.load_state = [](cats_strategy_t* s, uint32_t version, const void* data,
                      uint64_t size) noexcept {
      instance* in = from(s);
      return guard(in, [&] {
        state_reader r(data, size);
        in->impl->load_state(version, r);
      });
    };
    d.last_error = [](cats_strategy_t* s) noexcept -> cats_str_t {
      const std::string& e = from(s)->last_error;
      return {e.data(), e.size()};
    };
    d.on_bars = [](cats_strategy_t* s, cats_bar_span_t* span, uint32_t* out_handled) noexcept {
      instance* in = from(s);
      uint32_t done = 0;
      const cats_status_t st =
          guard(in, [&] { run_bars<T>(static_cast<T&>(*in->impl), *span, done); });
      if (out_handled != nullptr) *out_handled = done;
      return st;
    };
    return d;
  }();
  return &desc;
}

}  // namespace detail

}  // namespace cats

#endif  // CATS_DETAIL_GLUE_HPP
