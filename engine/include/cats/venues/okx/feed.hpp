// OKX v5 public market data: one WebSocket with a subscription per channel and instrument;
// books are checksummed and resubscribed on a gap.
#pragma once

#include <memory>
#include <vector>

#include "cats/venues/venue_feed.hpp"

namespace boost::asio {
class io_context;
}

namespace cats {

std::unique_ptr<venue_feed> make_okx_feed(boost::asio::io_context& io, const feed_endpoints& ep,
                                          std::vector<feed_subscription> subs, queue_sink& sink,
                                          feed_counters& counters);

}  // namespace cats
