// Submit-to-wire latency of live orders: `cats live --set live.broker=binance` against the fake
// exchange's private side over loopback TLS, with the trader test plugin sending IOC limits far
// from the market (they expire unfilled) one at a time from a timer.
//
// The figure is cats's own: from the broker's submit() (the risk checks passed) to the signed
// request handed to the TLS socket, taken per order on one steady clock (summary.json,
// execution.binance.submit_to_wire). It covers the order state machine, the journal line (and its
// fsync under the "intents" policy), the query string printed from fixed-point, HMAC-SHA256
// signing, and the hand-over to the private side's network thread. Orders are paced (default one
// per ms) so that none waits behind the previous one's round trip.
//
// Each journal fsync policy runs side by side in one invocation: "never" (the kernel decides; a
// killed process still loses nothing) and "intents" (the default: every intent is on disk before
// its order leaves).
//
// Usage: cats_order_bench [--orders 100000] [--every-us 1000]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_process.hpp"

namespace fs = std::filesystem;
using cats::bench::json_number;
using cats::bench::slurp;
using cats::bench::spawn;

int main(int argc, char** argv) {
  long orders = 100000, every_us = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--orders") {
      orders = std::atol(argv[i + 1]);
    } else if (a == "--every-us") {
      every_us = std::atol(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: cats_order_bench [--orders 100000] [--every-us 1000]\n");
      return 2;
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("cats-orders-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  if (!cats::bench::make_cert(cert, key)) {
    std::fprintf(stderr, "openssl could not make a certificate\n");
    return 1;
  }
  {
    std::ofstream k(dir / "api.key");
    k << "bench-key\nbench-secret\n";
  }
  fs::permissions(dir / "api.key", fs::perms::owner_read | fs::perms::owner_write);
  std::printf("submit -> signed request on the socket, %ld orders, one every %ld us\n", orders,
              every_us);
  std::printf("%10s %10s | %9s %9s %9s | %16s %16s\n", "fsync", "orders", "p50 us", "p99 us",
              "max us", "engine p50 us", "engine p99 us");
  bool failed = false;
  for (const char* policy : {"never", "intents"}) {
    const fs::path run = dir / policy;
    fs::create_directories(run);
    const pid_t fake =
        spawn({CATS_FAKE_EXCHANGE, "--cert", cert, "--key", key, "--port-file",
               (run / "port").string(), "--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "50",
               "--api-key", "bench-key", "--api-secret", "bench-secret"},
              run / "fake.out", run / "fake.err");
    const std::string port = cats::bench::wait_for_port(run / "port");
    // Timers fire a little late on a loaded machine: room for every order to go out.
    const long seconds = orders * every_us * 2 / 1'000'000 + 5;
    std::ofstream cfg(run / "live.toml");
    cfg << "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" << CATS_TEST_PLUGIN_DIR << "\"\n"
        << "[live]\nbroker = \"binance\"\nstatus_interval = 0\nhot_reload = false\nduration = "
        << seconds << "\njournal_fsync = \"" << policy << "\"\n"
        << "[venues.binance]\nws_url = \"wss://127.0.0.1:" << port
        << "\"\nrest_url = \"https://127.0.0.1:" << port
        << "\"\nws_api_url = \"wss://127.0.0.1:" << port << "/ws-api/v3\"\nca_file = \"" << cert
        << "\"\nkey_file = \"" << (dir / "api.key").string() << "\"\n"
        << "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"quotes\"]\n"
        << "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n"
        << "[[strategy]]\nname = \"bench\"\nplugin = \"trader_strategy\"\n[strategy.params]\n"
        << "plan = \"paced\"\ncount = " << orders << "\nevery_us = " << every_us << "\n";
    cfg.close();
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t cats = spawn({CATS_BINARY, "live", "--config", (run / "live.toml").string(),
                              "--out", (run / "out").string()},
                             run / "cats.out", run / "cats.err");
    int status = 0;
    waitpid(cats, &status, 0);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    kill(fake, SIGTERM);
    waitpid(fake, nullptr, 0);
    const std::string summary = slurp(run / "out" / "summary.json");
    std::printf("%10s %10s | %9s %9s %9s | %16s %16s   (%.0f s)\n", policy,
                json_number(summary, "submit_to_wire", "orders").c_str(),
                json_number(summary, "submit_to_wire", "p50_us").c_str(),
                json_number(summary, "submit_to_wire", "p99_us").c_str(),
                json_number(summary, "submit_to_wire", "max_us").c_str(),
                json_number(summary, "submit_to_wire", "engine_p50_us").c_str(),
                json_number(summary, "submit_to_wire", "engine_p99_us").c_str(), wall);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::printf("  cats failed (status %d):\n%s\n", status, slurp(run / "cats.err").c_str());
      failed = true;
    }
  }
  if (!failed) fs::remove_all(dir);
  return failed ? 1 : 0;
}
