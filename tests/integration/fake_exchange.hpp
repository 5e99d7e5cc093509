// The fake exchange (tools/fake_exchange) as the live integration tests start it: a certificate
// made with openssl for the test, a server on an ephemeral port, and its control API.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/net/ws_client.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats::test {

inline std::string fake_binary() {
  return (std::filesystem::path(CATS_BUILD_DIR) / "bin" / "cats_fake_exchange").string();
}

inline bool make_cert(const std::filesystem::path& dir) {
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 2 -subj /CN=localhost -addext "
      "subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
      (dir / "key.pem").string() + "' -out '" + (dir / "cert.pem").string() + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// The fake exchange, started for one test.
class fake_exchange {
 public:
  fake_exchange(const temp_dir& dir, const std::vector<std::string>& args) : dir_(dir) {
    std::vector<std::string> argv = {fake_binary(),
                                     "--cert",
                                     (dir / "cert.pem").string(),
                                     "--key",
                                     (dir / "key.pem").string(),
                                     "--port-file",
                                     (dir / "port").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--count") count_ = std::stoull(args[i + 1]);
    proc_ = std::make_unique<background>(argv, (dir / "fake.out").string(),
                                         (dir / "fake.err").string());
    const bool up = wait_until([&] { return std::filesystem::exists(dir / "port"); }, 10);
    if (up) port_ = std::stoi(read_file(dir / "port"));
  }
  ~fake_exchange() {
    proc_->signal(SIGTERM);
    proc_->wait(5);
  }
  int port() const { return port_; }
  /// --count as given (0 = unlimited) and how many events the fake has generated so far.
  uint64_t count() const { return count_; }
  uint64_t generated() const {
    simdjson::dom::parser p;
    uint64_t n = 0;
    simdjson::dom::element e;
    if (p.parse(control("GET", "/control/stats")).get(e) != simdjson::SUCCESS) return 0;
    return e["generated"].get(n) == simdjson::SUCCESS ? n : 0;
  }
  std::string base() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(dir_ / "fake.err"); }

  // A control call (see tools/fake_exchange/README.md); returns the body.
  std::string control(const std::string& method, const std::string& path) const {
    net::tls_options tls;
    tls.ca_file = dir_ / "cert.pem";
    const net::http_response r =
        net::https_request(method, "https://" + base() + path, tls, std::chrono::seconds(5));
    EXPECT_EQ(r.status, 200) << method << " " << path << ": " << r.error << " " << r.body;
    return r.body;
  }

 private:
  const temp_dir& dir_;
  std::unique_ptr<background> proc_;
  int port_ = 0;
  uint64_t count_ = 0;
};

// The trade ids in a probe plugin's log ("trade <instrument> <id> ..." lines), in order.
inline std::vector<uint64_t> probe_trade_ids(const std::string& log) {
  std::vector<uint64_t> ids;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("trade ", 0) != 0) continue;
    std::istringstream f(line.substr(6));
    uint32_t inst = 0;
    uint64_t id = 0;
    f >> inst >> id;
    ids.push_back(id);
  }
  return ids;
}

inline simdjson::dom::element parse_json(simdjson::dom::parser& p, const std::string& text) {
  simdjson::dom::element e;
  const auto err = p.parse(text).get(e);
  EXPECT_EQ(err, simdjson::SUCCESS) << text;
  return e;
}

// A price or quantity of a book level: a string (the venues) or an exact JSON number (our summary,
// read from the raw token, never through a double).
inline int64_t fixed_of(simdjson::dom::element e) {
  int64_t out = 0;
  const std::string text = e.is_string() ? std::string(std::string_view(e.get_string()))
                                         : std::string(simdjson::minify(e));
  EXPECT_EQ(parse_fixed(text, out), parse_error::ok) << text;
  return out;
}

using levels = std::vector<std::pair<int64_t, int64_t>>;

inline levels read_levels(simdjson::dom::array a, size_t depth) {
  levels out;
  for (simdjson::dom::element lvl : a) {
    if (out.size() == depth) break;
    simdjson::dom::array pair = lvl.get_array();
    out.emplace_back(fixed_of(pair.at(0)), fixed_of(pair.at(1)));
  }
  return out;
}

// The engine's final book (summary.json's "books") equals the fake exchange's, 20 levels a side.
inline void expect_same_book(const fake_exchange& fake, const std::string& summary,
                             const std::string& venue, const std::string& symbol,
                             const std::string& engine_symbol) {
  simdjson::dom::parser p1, p2;
  const std::string theirs_text =
      fake.control("GET", "/control/book?venue=" + venue + "&symbol=" + symbol + "&depth=20");
  simdjson::dom::element theirs = parse_json(p1, theirs_text);
  simdjson::dom::element ours = parse_json(p2, summary);
  simdjson::dom::element book;
  ASSERT_EQ(ours["books"][engine_symbol].get(book), simdjson::SUCCESS) << summary;
  const levels ob = read_levels(book["bids"].get_array(), 20);
  const levels oa = read_levels(book["asks"].get_array(), 20);
  const levels tb = read_levels(theirs["bids"].get_array(), 20);
  const levels ta = read_levels(theirs["asks"].get_array(), 20);
  EXPECT_EQ(ob.size(), 20u) << engine_symbol;
  EXPECT_EQ(ob, tb) << engine_symbol << " bids differ; fake: " << theirs_text;
  EXPECT_EQ(oa, ta) << engine_symbol << " asks differ; fake: " << theirs_text;
}

}  // namespace cats::test
