// Wire-to-strategy latency of `cats live`, through the fake exchange over loopback TLS.
//
// The fake exchange sends Binance trade messages at a steady rate with its send time (ns) in the
// trade id (--stamp-ns); the latency_probe plugin subtracts that from the wall clock in on_trade.
// So the figure covers: the fake's TLS write, the loopback, our TLS read and WebSocket framing,
// JSON normalization, the feed queue, the engine thread and the call into the plugin. The engine's
// own receive->strategy histogram (from summary.json) is printed beside it.
//
// Each rate runs twice, side by side: the default engine (the network thread sleeps in epoll, the
// engine thread spins 30 us before sleeping) and `live.busy_poll = true` (the network thread
// polls without sleeping: lower latency for a whole core).
//
// Usage: cats_latency_bench [--rates 10000,50000,100000] [--seconds 10]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_process.hpp"

namespace fs = std::filesystem;
using cats::bench::json_number;
using cats::bench::slurp;
using cats::bench::spawn;

int main(int argc, char** argv) {
  std::vector<long> rates = {10000, 50000, 100000};
  int seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds") {
      seconds = std::atoi(argv[i + 1]);
    } else if (a == "--rates") {
      rates.clear();
      std::stringstream s(argv[i + 1]);
      std::string item;
      while (std::getline(s, item, ',')) rates.push_back(std::atol(item.c_str()));
    } else {
      std::fprintf(stderr, "usage: cats_latency_bench [--rates 10000,100000] [--seconds 10]\n");
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
  std::printf("wire-to-strategy latency, Binance trade messages over loopback TLS, %d s per rate\n",
              seconds);
  std::printf("%10s %10s %10s | %9s %9s %9s %9s | %s\n", "rate/s", "mode", "measured", "p50 us",
              "p99 us", "p99.9 us", "max us", "engine receive->strategy p50/p99/p99.9 us");
  bool failed = false;
  for (const long rate : rates)
    for (const bool busy : {false, true}) {
      const fs::path run = dir / (std::to_string(rate) + (busy ? "-busy" : ""));
      fs::create_directories(run);
      const long count = rate * (seconds + 1);
      const pid_t fake = spawn(
          {CATS_FAKE_EXCHANGE, "--cert", cert, "--key", key, "--port-file", (run / "port").string(),
           "--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", std::to_string(rate), "--count",
           std::to_string(count), "--stamp-ns", "--trades-only"},
          run / "fake.out", run / "fake.err");
      const std::string port = cats::bench::wait_for_port(run / "port");
      std::ofstream cfg(run / "live.toml");
      cfg << "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" << CATS_BENCH_PLUGIN_DIR << "\"\n"
          << "[live]\nstatus_interval = 0\nduration = " << seconds + 2
          << "\nbusy_poll = " << (busy ? "true" : "false") << "\n"
          << "[venues.binance]\nws_url = \"wss://127.0.0.1:" << port
          << "\"\nrest_url = \"https://127.0.0.1:" << port << "\"\nca_file = \"" << cert << "\"\n"
          << "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\"]\n"
          << "[[strategy]]\nname = \"lat\"\nplugin = \"latency_probe\"\n[strategy.params]\nout = \""
          << (run / "latency.txt").string() << "\"\n";
      cfg.close();
      const pid_t cats = spawn({CATS_BINARY, "live", "--config", (run / "live.toml").string(),
                                "--out", (run / "out").string()},
                               run / "cats.out", run / "cats.err");
      int status = 0;
      waitpid(cats, &status, 0);
      kill(fake, SIGTERM);
      waitpid(fake, nullptr, 0);
      const std::string lat = slurp(run / "latency.txt");
      auto field = [&](const std::string& k) {
        const size_t p = lat.find(k + " ");
        return p == std::string::npos
                   ? std::string("?")
                   : lat.substr(p + k.size() + 1, lat.find('\n', p) - p - k.size() - 1);
      };
      const std::string summary = slurp(run / "out" / "summary.json");
      std::printf("%10ld %10s %10s | %9s %9s %9s %9s | %s / %s / %s\n", rate,
                  busy ? "busy_poll" : "default", field("count").c_str(), field("p50_us").c_str(),
                  field("p99_us").c_str(), field("p999_us").c_str(), field("max_us").c_str(),
                  json_number(summary, "receive_to_strategy", "p50_us").c_str(),
                  json_number(summary, "receive_to_strategy", "p99_us").c_str(),
                  json_number(summary, "receive_to_strategy", "p999_us").c_str());
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::printf("  cats failed (status %d):\n%s\n", status, slurp(run / "cats.err").c_str());
        failed = true;
      }
    }
  if (!failed) fs::remove_all(dir);
  return failed ? 1 : 0;
}
