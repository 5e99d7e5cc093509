// The fake exchange's network side: one TLS port for Binance and OKX WebSocket streams, the REST
// depth snapshot and the control API. Beast is confined to server.cpp (it compiles slowly).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cats::fake {

struct options {
  std::string cert_file;
  std::string key_file;
  uint16_t port = 0;               ///< 0: an ephemeral port
  std::string bind = "127.0.0.1";  ///< the address to listen on (0.0.0.0 inside a container)
  std::string port_file;           ///< written atomically (temp name, then rename) once listening
  uint64_t seed = 1;
  std::vector<std::string> binance_symbols;
  std::vector<std::string> okx_symbols;
  double rate = 1000;  ///< generated events per second over all symbols; 0: none
  uint64_t count = std::numeric_limits<uint64_t>::max();  ///< events to generate
  std::string script_file;
  bool stamp_ns = false;     ///< trade ids carry the send time in ns
  bool trades_only = false;  ///< every generated event is a trade
  /// Each event is sent alone at its scheduled time (the generator spins for the last 30 us),
  /// not in the batches of the 200 us tick; the lateness of each send is reported at exit.
  bool paced = false;
  /// The private side's credentials (HMAC-SHA256).
  std::string api_key = "cats-fake-key";
  std::string api_secret = "cats-fake-secret";
  std::string api_passphrase = "cats-fake-passphrase";  ///< OKX
  /// When the generator (or the script) starts.
  enum class start_mode { on_subscribe, now, on_control } start = start_mode::on_subscribe;
  /// Served under /data/ (the layout of Binance's public-data site), with Range requests.
  std::string data_dir;
};

/// Runs until SIGINT/SIGTERM or POST /control/shutdown. Returns the process exit code; start-up
/// failures (certificate, port, script) are reported on stderr.
int run_server(const options& opt);

}  // namespace cats::fake
