// Hot reload under load: `cats live` against the fake exchange (trades at a steady rate) while the
// strategy's .so is replaced N times (v1 <-> v2). Reports, from the engine's own measurements in
// summary.json: the longest pause of event delivery per swap (state hand-over + pointer swap +
// the new version's on_start, on the engine thread) and the time from the file landing to the new
// version handling its first event, p50/p99/max over all swaps.
//
// Usage: cats_reload_bench [--swaps 120] [--rate 10000]
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
using cats::bench::slurp;
using cats::bench::spawn;

namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string json_number(const std::string& text, const std::string& key) {
  const size_t k = text.find("\"" + key + "\":");
  if (k == std::string::npos) return "?";
  const size_t b = k + key.size() + 3;
  return text.substr(b, text.find_first_of(",}", b) - b);
}

}  // namespace

int main(int argc, char** argv) {
  int swaps = 120;
  long rate = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--swaps") {
      swaps = std::atoi(argv[i + 1]);
    } else if (a == "--rate") {
      rate = std::atol(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: cats_reload_bench [--swaps 120] [--rate 10000]\n");
      return 2;
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("cats-reload-" + std::to_string(getpid()));
  fs::create_directories(dir / "plugins");
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  if (!cats::bench::make_cert(cert, key)) {
    std::fprintf(stderr, "openssl could not make a certificate\n");
    return 1;
  }
  const fs::path v1 = fs::path(CATS_TEST_PLUGIN_DIR) / "counter_v1.so";
  const fs::path v2 = fs::path(CATS_TEST_PLUGIN_DIR) / "counter_v2.so";
  const fs::path target = dir / "plugins" / "counter.so";
  fs::copy_file(v1, target);
  const pid_t fake = spawn({CATS_FAKE_EXCHANGE, "--cert", cert, "--key", key, "--port-file",
                            (dir / "port").string(), "--symbols", "BTCUSDT", "--okx-symbols", "",
                            "--rate", std::to_string(rate), "--trades-only"},
                           dir / "fake.out", dir / "fake.err");
  const std::string port = cats::bench::wait_for_port(dir / "port");
  std::ofstream cfg(dir / "live.toml");
  cfg << "[engine]\nplugin_dir = \"" << (dir / "plugins").string() << "\"\n"
      << "[live]\nstatus_interval = 0\n"
      << "[venues.binance]\nws_url = \"wss://127.0.0.1:" << port
      << "\"\nrest_url = \"https://127.0.0.1:" << port << "\"\nca_file = \"" << cert << "\"\n"
      << "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\"]\n"
      << "[[strategy]]\nname = \"c\"\nplugin = \"counter\"\n";
  cfg.close();
  const pid_t cats = spawn({CATS_BINARY, "live", "--config", (dir / "live.toml").string(), "--out",
                            (dir / "out").string()},
                           dir / "cats.out", dir / "cats.err");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  bool ok = true;
  for (int i = 1; i <= swaps && ok; ++i) {
    fs::copy_file(i % 2 == 1 ? v2 : v1, target, fs::copy_options::overwrite_existing);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (count_of(slurp(dir / "cats.err"), "hot reload: '") < static_cast<size_t>(i)) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "swap %d did not happen:\n%s\n", i, slurp(dir / "cats.err").c_str());
        ok = false;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the new version at work
  }
  kill(cats, SIGINT);
  waitpid(cats, nullptr, 0);
  kill(fake, SIGTERM);
  waitpid(fake, nullptr, 0);
  const std::string s = slurp(dir / "out" / "summary.json");
  std::printf("hot reload under load: %s trades/s, %s swaps (%s refused)\n",
              std::to_string(rate).c_str(), json_number(s, "reloads").c_str(),
              json_number(s, "refused").c_str());
  std::printf("  delivery pause per swap:   p50 %s us, p99 %s us, max %s us\n",
              json_number(s, "swap_pause_p50_us").c_str(),
              json_number(s, "swap_pause_p99_us").c_str(),
              json_number(s, "swap_pause_max_us").c_str());
  std::printf("  file landed -> new version's first event: p50 %s ms, p99 %s ms, max %s ms\n",
              json_number(s, "file_to_live_p50_ms").c_str(),
              json_number(s, "file_to_live_p99_ms").c_str(),
              json_number(s, "file_to_live_max_ms").c_str());
  std::printf("  events delivered: %s (receive->strategy p99 %s us)\n",
              json_number(s, "events").c_str(), json_number(s, "p99_us").c_str());
  if (ok) fs::remove_all(dir);
  return ok ? 0 : 1;
}
