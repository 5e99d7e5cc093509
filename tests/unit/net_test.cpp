// URL parsing of the network layer (the sessions themselves are tested end to end against the fake
// exchange in tests/integration/live_test.cpp).
#include "cats/net/ws_client.hpp"

#include <gtest/gtest.h>

namespace cats::net {
namespace {

TEST(ParseUrl, SplitsSchemeHostPortAndTarget) {
  url_parts u;
  std::string err;
  ASSERT_TRUE(parse_url("wss://stream.binance.com:9443/stream?streams=btcusdt@trade", u, err));
  EXPECT_EQ(u.scheme, "wss");
  EXPECT_EQ(u.host, "stream.binance.com");
  EXPECT_EQ(u.port, "9443");
  EXPECT_EQ(u.target, "/stream?streams=btcusdt@trade");
  ASSERT_TRUE(parse_url("https://api.binance.com", u, err));
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.target, "/");
  ASSERT_TRUE(parse_url("wss://127.0.0.1:8443?x=1", u, err));
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.target, "/?x=1");
}

TEST(ParseUrl, RefusesWhatIsNotATlsUrl) {
  url_parts u;
  std::string err;
  EXPECT_FALSE(parse_url("ws://127.0.0.1:80/", u, err));
  EXPECT_EQ(err, "'ws://127.0.0.1:80/': scheme must be wss or https (TLS only), got 'ws'");
  EXPECT_FALSE(parse_url("127.0.0.1:443", u, err));
  EXPECT_EQ(err, "'127.0.0.1:443' is not a URL (expected wss://host[:port]/path)");
  EXPECT_FALSE(parse_url("wss://:443/", u, err));
  EXPECT_EQ(err, "'wss://:443/' has no host");
  EXPECT_FALSE(parse_url("wss://host:99999/", u, err));
  EXPECT_EQ(err, "'wss://host:99999/' has a bad port '99999'");
  EXPECT_FALSE(parse_url("wss://host:0/", u, err));
  EXPECT_FALSE(parse_url("wss://host:12ab/", u, err));
}

}  // namespace
}  // namespace cats::net
