// Helpers for the SDK's structs on the engine side.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <string>

namespace cats {

/// The common header of an event of struct `Event`, stamped at `ts_ns` (exchange and local time
/// are the same for events the engine makes itself).
template <class Event>
cats_event_t event_header(cats_event_type type, uint32_t instrument_id, int64_t ts_ns,
                          uint32_t flags) noexcept {
  cats_event_t h{};
  h.struct_size = sizeof(Event);
  h.type = type;
  h.instrument_id = instrument_id;
  h.flags = flags;
  h.exchange_ts_ns = ts_ns;
  h.local_ts_ns = ts_ns;
  return h;
}

/// "buy" or "sell" for a cats_side (anything else reads "sell"), for messages.
inline const char* side_name(int32_t side) noexcept {
  return side == CATS_SIDE_BUY ? "buy" : "sell";
}

/// A copy of an SDK string; empty for a null or zero-length one.
inline std::string to_string(cats_str_t s) {
  return s.size == 0 || s.data == nullptr ? std::string()
                                          : std::string(s.data, static_cast<size_t>(s.size));
}

}  // namespace cats
