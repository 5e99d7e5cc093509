// Wire-to-strategy latency of `cats live`, through the fake exchange over loopback TLS, with the
// sender's own delay and the transport's cost measured in the same run.
//
// The fake exchange runs --paced: each Binance trade message goes out alone at its scheduled time
// (rate R: one every 1/R s), with its send time in ns in the trade id (--stamp-ns), and reports
// how late it sent each one (render time - due time) when it exits. Per rate, side by side:
//   transport  a bare Beast WebSocket client over TLS (no engine) reads the same stream and takes
//              the clock on each message: the sender, TLS, loopback and WebSocket framing alone;
//   default    `cats live` with the latency_probe plugin (the clock in on_trade): all of the above
//              plus our TLS/WebSocket read, JSON normalization, the feed queue, the engine thread
//              and the plugin call; the engine's own receive->strategy histogram is printed beside;
//   busy_poll  the same with `live.busy_poll = true`, which cats turns off (with a warning) where
//              the process may not use two cores more than its polling threads (one for the
//              engine thread, one for the rest); the row says whether it ran;
//   bus        the collector path: `cats collector` reads the venue and publishes to NATS
//              JetStream (nats-server on loopback, file storage), and `cats live --source
//              nats://...` consumes the stream: the same clock, so the row minus "default" is
//              what the bus adds. Skipped where nats-server is not installed.
// After each rate: cats' share, default minus transport at p50 and p99 (a rough split: tails
// do not subtract exactly).
//
// Usage: cats_latency_bench [--rates 10000,50000,100000] [--seconds 10] [--spin-us N]
//                           [--modes transport,default,busy_poll,bus]
//   --spin-us sets live.spin_us (how long the engine thread spins before it sleeps) for cats.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_process.hpp"

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace beast = boost::beast;
using cats::bench::json_number;
using cats::bench::slurp;
using cats::bench::spawn;

namespace {

int64_t wall_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct quantiles {
  size_t count = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // us
};

quantiles quantiles_of(std::vector<int64_t> ns) {
  quantiles q;
  q.count = ns.size();
  if (ns.empty()) return q;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double p) {
    return static_cast<double>(ns[std::min(
               ns.size() - 1, static_cast<size_t>(p * static_cast<double>(ns.size())))]) /
           1e3;
  };
  q.p50 = at(0.5);
  q.p99 = at(0.99);
  q.p999 = at(0.999);
  q.max = static_cast<double>(ns.back()) / 1e3;
  return q;
}

// The transport alone: a bare Beast client reads `count` trade messages of BTCUSDT and takes the
// clock on each, before anything else is done with it. The first `skip` are warm-up.
quantiles bare_client(const std::string& port, const std::string& ca, long count, long skip,
                      std::string& error) {
  std::vector<int64_t> lat;
  lat.reserve(static_cast<size_t>(count));
  try {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::websocket::stream<beast::ssl_stream<asio::ip::tcp::socket>> ws(ioc, ctx);
    asio::ip::tcp::resolver resolver(ioc);
    asio::connect(beast::get_lowest_layer(ws), resolver.resolve("127.0.0.1", port));
    beast::get_lowest_layer(ws).set_option(asio::ip::tcp::no_delay(true));
    ws.next_layer().handshake(asio::ssl::stream_base::client);
    ws.handshake("127.0.0.1:" + port, "/ws/btcusdt@trade");
    beast::flat_buffer buf;
    for (long i = 0; i < count; ++i) {
      buf.clear();
      ws.read(buf);
      const int64_t now = wall_ns();
      const std::string_view text(static_cast<const char*>(buf.data().data()), buf.size());
      const size_t t = text.find("\"t\":");
      if (t == std::string_view::npos || i < skip) continue;
      lat.push_back(now - std::strtoll(text.data() + t + 4, nullptr, 10));
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  return quantiles_of(std::move(lat));
}

// The fake exchange's "paced: ..." line: its send lateness p50 / p99.
std::string sender_lateness(const std::string& fake_err) {
  const size_t p = fake_err.find("send lateness p50 ");
  if (p == std::string::npos) return "?";
  double p50 = 0, p99 = 0;
  if (std::sscanf(fake_err.c_str() + p, "send lateness p50 %lf us p99 %lf us", &p50, &p99) != 2)
    return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f / %.1f", p50, p99);
  return buf;
}

struct row {
  std::string mode;
  quantiles q;
  std::string engine = "-";  // receive->strategy p50 / p99 / p99.9 from summary.json
  std::string sender;        // send lateness p50 / p99
  bool failed = false;
};

void print(long rate, const row& r) {
  std::printf("%8ld %-20s %9zu | %8.1f %8.1f %9.1f %9.1f | %-15s | %s\n", rate, r.mode.c_str(),
              r.q.count, r.q.p50, r.q.p99, r.q.p999, r.q.max, r.sender.c_str(), r.engine.c_str());
  std::fflush(stdout);
}

std::string nats_server() {
  for (const char* p : {"/usr/bin/nats-server", "/usr/sbin/nats-server"})
    if (fs::exists(p)) return p;
  return {};
}

// A free loopback port for nats-server.
int free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// The bus path's other processes: nats-server and the collector, started before the engine.
struct bus_path {
  pid_t nats = -1, collector = -1;
  std::string url;
  bool start(const fs::path& run, const std::string& venue_port, const std::string& cert,
             int seconds) {
    const std::string port = std::to_string(free_port());
    url = "nats://127.0.0.1:" + port;
    nats =
        spawn({nats_server(), "-js", "-a", "127.0.0.1", "-p", port, "-sd", (run / "js").string()},
              run / "nats.out", run / "nats.err");
    for (int i = 0; i < 200 && slurp(run / "nats.err").find("Server is ready") == std::string::npos;
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    std::ofstream cfg(run / "collector.toml");
    cfg << "[engine]\nlog_level = \"warn\"\n[live]\nstatus_interval = 0\nduration = " << seconds + 4
        << "\n[bus]\nurl = \"" << url << "\"\n"
        << "[venues.binance]\nws_url = \"wss://127.0.0.1:" << venue_port
        << "\"\nrest_url = \"https://127.0.0.1:" << venue_port << "\"\nca_file = \"" << cert
        << "\"\n[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\"]\n";
    cfg.close();
    collector = spawn({CATS_BINARY, "collector", "--config", (run / "collector.toml").string(),
                       "--out", (run / "collector").string()},
                      run / "collector.out", run / "collector.err");
    return slurp(run / "nats.err").find("Server is ready") != std::string::npos;
  }
  void stop() {
    for (pid_t p : {collector, nats}) {
      if (p <= 0) continue;
      kill(p, SIGTERM);
      waitpid(p, nullptr, 0);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<long> rates = {10000, 50000, 100000};
  int seconds = 10;
  long spin_us = -1;  // the default
  std::vector<std::string> modes = {"transport", "default", "busy_poll", "bus"};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--modes") {
      modes.clear();
      std::stringstream s(argv[i + 1]);
      std::string item;
      while (std::getline(s, item, ',')) modes.push_back(item);
    } else if (a == "--spin-us") {
      spin_us = std::atol(argv[i + 1]);
    } else if (a == "--seconds") {
      seconds = std::atoi(argv[i + 1]);
    } else if (a == "--rates") {
      rates.clear();
      std::stringstream s(argv[i + 1]);
      std::string item;
      while (std::getline(s, item, ',')) rates.push_back(std::atol(item.c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: cats_latency_bench [--rates 10000,50000,100000] [--seconds 10] "
                   "[--spin-us N] [--modes transport,default,busy_poll,bus]\n");
      return 2;
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("cats-latency-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  if (!cats::bench::make_cert(cert, key)) {
    std::fprintf(stderr, "openssl could not make a certificate\n");
    return 1;
  }
  std::printf(
      "wire-to-strategy latency, Binance trades sent one by one on schedule over loopback "
      "TLS, %d s per row, %u cores\n",
      seconds, std::thread::hardware_concurrency());
  std::printf("%8s %-20s %9s | %8s %8s %9s %9s | %-15s | %s\n", "rate/s", "mode", "measured",
              "p50 us", "p99 us", "p99.9 us", "max us", "sender late us",
              "engine receive->strategy p50/p99/p99.9 us");
  bool failed = false;
  for (const long rate : rates) {
    const long count = rate * seconds;
    const long skip = std::min(1000L, count / 10);
    quantiles transport, plain, bus;
    for (const std::string& mode : modes) {
      if (mode == "bus" && nats_server().empty()) {
        std::printf("%8ld bus: skipped, nats-server is not installed\n", rate);
        continue;
      }
      const fs::path run = dir / (std::to_string(rate) + "-" + mode);
      fs::create_directories(run);
      const pid_t fake = spawn(
          {CATS_FAKE_EXCHANGE, "--cert", cert, "--key", key, "--port-file", (run / "port").string(),
           "--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", std::to_string(rate), "--count",
           std::to_string(count), "--stamp-ns", "--trades-only", "--paced"},
          run / "fake.out", run / "fake.err");
      const std::string port = cats::bench::wait_for_port(run / "port");
      row r;
      r.mode = mode == "transport" ? "transport (no cats)"
               : mode == "bus"     ? "bus (collector->NATS)"
                                   : mode;
      int status = 0;
      bus_path via;
      if (mode == "bus" && !via.start(run, port, cert, seconds)) {
        std::printf("  nats-server did not start:\n%s\n", slurp(run / "nats.err").c_str());
        failed = true;
        via.stop();
        kill(fake, SIGTERM);
        waitpid(fake, nullptr, 0);
        continue;
      }
      if (mode == "transport") {
        std::string error;
        r.q = bare_client(port, cert, count, skip, error);
        if (!error.empty()) {
          std::printf("  the bare client failed: %s\n", error.c_str());
          r.failed = true;
        }
      } else {
        const bool busy = mode == "busy_poll";
        std::ofstream cfg(run / "live.toml");
        cfg << "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" << CATS_BENCH_PLUGIN_DIR << "\"\n"
            << "[live]\nstatus_interval = 0\nduration = " << seconds + 3
            << "\nbusy_poll = " << (busy ? "true" : "false") << "\n"
            << (spin_us >= 0 ? "spin_us = " + std::to_string(spin_us) + "\n" : std::string())
            << "[venues.binance]\nws_url = \"wss://127.0.0.1:" << port
            << "\"\nrest_url = \"https://127.0.0.1:" << port << "\"\nca_file = \"" << cert << "\"\n"
            << "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\"]\n"
            << (mode == "bus" ? "[bus]\nstart = \"all\"\ndurable = \"bench\"\n" : "")
            << "[[strategy]]\nname = \"lat\"\nplugin = \"latency_probe\"\n[strategy.params]\n"
            << "out = \"" << (run / "latency.txt").string() << "\"\nskip = " << skip << "\n";
        cfg.close();
        std::vector<std::string> argv = {CATS_BINARY, "live",
                                         "--config",  (run / "live.toml").string(),
                                         "--out",     (run / "out").string()};
        if (mode == "bus") {
          argv.push_back("--source");
          argv.push_back(via.url);
        }
        const pid_t cats = spawn(argv, run / "cats.out", run / "cats.err");
        waitpid(cats, &status, 0);
        via.stop();
        const std::string lat = slurp(run / "latency.txt");
        auto field = [&](const std::string& k) {
          const size_t p = lat.find(k + " ");
          return p == std::string::npos ? 0.0 : std::atof(lat.c_str() + p + k.size() + 1);
        };
        r.q.count = static_cast<size_t>(field("count"));
        r.q.p50 = field("p50_us");
        r.q.p99 = field("p99_us");
        r.q.p999 = field("p999_us");
        r.q.max = field("max_us");
        const std::string summary = slurp(run / "out" / "summary.json");
        r.engine = json_number(summary, "receive_to_strategy", "p50_us") + " / " +
                   json_number(summary, "receive_to_strategy", "p99_us") + " / " +
                   json_number(summary, "receive_to_strategy", "p999_us");
        if (busy && json_number(summary, "busy_poll", "active") != "true")
          r.mode = "busy_poll (fell back)";
        r.failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
      }
      kill(fake, SIGTERM);
      waitpid(fake, nullptr, 0);
      r.sender = sender_lateness(slurp(run / "fake.err"));
      print(rate, r);
      if (mode == "transport") transport = r.q;
      if (mode == "default") plain = r.q;
      if (mode == "bus") bus = r.q;
      if (r.failed) {
        if (mode != "transport")
          std::printf("  cats failed (status %d):\n%s\n", status, slurp(run / "cats.err").c_str());
        failed = true;
      }
    }
    if (transport.count > 0 && plain.count > 0)
      std::printf("%8ld cats' share (default - transport): p50 %.1f us, p99 %.1f us\n", rate,
                  plain.p50 - transport.p50, plain.p99 - transport.p99);
    if (bus.count > 0 && plain.count > 0)
      std::printf(
          "%8ld the bus adds (bus - default): p50 %.1f us, p99 %.1f us; %zu of %zu "
          "trades measured\n",
          rate, bus.p50 - plain.p50, bus.p99 - plain.p99, bus.count, plain.count);
  }
  if (!failed) fs::remove_all(dir);
  return failed ? 1 : 0;
}
