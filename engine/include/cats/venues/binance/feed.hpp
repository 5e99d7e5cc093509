// Binance spot market data: the combined stream of the subscribed channels and, for books, REST
// depth snapshots synchronised with the diff-depth stream.
#pragma once

#include <memory>
#include <vector>

#include "cats/venues/venue_feed.hpp"

namespace boost::asio {
class io_context;
}

namespace cats {

std::unique_ptr<venue_feed> make_binance_feed(boost::asio::io_context& io, const feed_endpoints& ep,
                                              std::vector<feed_subscription> subs, queue_sink& sink,
                                              feed_counters& counters);

}  // namespace cats
