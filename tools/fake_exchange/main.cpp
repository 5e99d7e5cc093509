// cats_fake_exchange: a local stand-in for Binance spot and OKX v5 public market data (see
// README.md). Exit codes: 0 ok, 1 run failure, 2 usage error.
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "server.hpp"

namespace {

const char* const usage =
    "usage: cats_fake_exchange --cert FILE --key FILE [--port N] [--port-file FILE] [--seed N]\n"
    "         [--symbols BTCUSDT,ETHUSDT] [--okx-symbols BTC-USDT] [--rate MSGS_PER_SEC]\n"
    "         [--count N|unlimited] [--script FILE] [--stamp-ns] [--trades-only]\n"
    "         [--paced] [--data-dir DIR]\n"
    "         [--start subscribe|now|control] [--api-key K --api-secret S --api-passphrase P]\n"
    "\n"
    "  --cert, --key     PEM certificate chain and private key for TLS\n"
    "  --port            port on 127.0.0.1 (default 0: an ephemeral port)\n"
    "  --bind            listen on this IPv4 address instead of 127.0.0.1 (a container)\n"
    "  --port-file       write the port here (atomically) once listening\n"
    "  --seed            market seed (default 1)\n"
    "  --symbols         Binance symbols; --okx-symbols OKX instIds. With neither, BTCUSDT and\n"
    "                    BTC-USDT; with one of them, only that venue (\"\" for none)\n"
    "  --rate            generated events per second over all symbols (default 1000; 0: none)\n"
    "  --count           events to generate, then stay idle (default unlimited)\n"
    "  --script          replay a JSONL file of recorded messages instead of generating\n"
    "  --stamp-ns        trade ids (Binance \"t\"/\"a\", OKX \"tradeId\") are the send time in ns\n"
    "  --trades-only     every generated event is a trade (the book stays still)\n"
    "  --data-dir        serve DIR/data/... as /data/... (Binance public-data layout; Range\n"
    "                    requests; /control/data?cut=BYTES&times=N cuts the next N bodies)\n"
    "  --paced           each event goes out alone at its scheduled time (a spinning generator);\n"
    "                    the distribution of send lateness is printed at exit\n"
    "  --api-key, --api-secret, --api-passphrase  the private side's credentials (defaults\n"
    "                    cats-fake-key, cats-fake-secret, cats-fake-passphrase)\n"
    "  --start           when generating (or the script) begins: at the first subscription\n"
    "                    (default), now, or at POST /control/start\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "cats_fake_exchange: %s\n\n%s", msg.c_str(), usage);
  return 2;
}

std::vector<std::string> split_symbols(std::string_view s, bool upper) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t p = s.find(',');
    std::string item(s.substr(0, p));
    if (upper) {
      for (char& c : item) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (!item.empty()) out.push_back(std::move(item));
    if (p == std::string_view::npos) break;
    s = s.substr(p + 1);
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && r.ec == std::errc{} && r.ptr == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
  cats::fake::options opt;
  bool have_binance = false, have_okx = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (arg == "--stamp-ns") {
      opt.stamp_ns = true;
      continue;
    }
    if (arg == "--trades-only") {
      opt.trades_only = true;
      continue;
    }
    if (arg == "--paced") {
      opt.paced = true;
      continue;
    }
    if (i + 1 >= argc) return usage_error(std::string(arg) + " needs a value");
    const std::string_view value = argv[++i];
    if (arg == "--cert") {
      opt.cert_file = value;
    } else if (arg == "--key") {
      opt.key_file = value;
    } else if (arg == "--port") {
      if (!parse_number(value, opt.port)) return usage_error("bad --port");
    } else if (arg == "--bind") {
      opt.bind = value;
    } else if (arg == "--port-file") {
      opt.port_file = value;
    } else if (arg == "--api-key") {
      opt.api_key = std::string(value);
    } else if (arg == "--api-secret") {
      opt.api_secret = std::string(value);
    } else if (arg == "--api-passphrase") {
      opt.api_passphrase = std::string(value);
    } else if (arg == "--seed") {
      if (!parse_number(value, opt.seed)) return usage_error("bad --seed");
    } else if (arg == "--symbols") {
      opt.binance_symbols = split_symbols(value, true);
      have_binance = true;
    } else if (arg == "--okx-symbols") {
      opt.okx_symbols = split_symbols(value, true);
      have_okx = true;
    } else if (arg == "--rate") {
      if (!parse_number(value, opt.rate) || !(opt.rate >= 0) || opt.rate > 1e8) {
        return usage_error("bad --rate (0..1e8 events per second)");
      }
    } else if (arg == "--count") {
      if (value != "unlimited" && !parse_number(value, opt.count)) {
        return usage_error("bad --count (a number or \"unlimited\")");
      }
    } else if (arg == "--data-dir") {
      opt.data_dir = value;
    } else if (arg == "--script") {
      opt.script_file = value;
    } else if (arg == "--start") {
      using mode = cats::fake::options::start_mode;
      if (value == "subscribe") {
        opt.start = mode::on_subscribe;
      } else if (value == "now") {
        opt.start = mode::now;
      } else if (value == "control") {
        opt.start = mode::on_control;
      } else {
        return usage_error("bad --start (subscribe, now or control)");
      }
    } else {
      return usage_error("unknown option " + std::string(arg));
    }
  }
  if (opt.cert_file.empty() || opt.key_file.empty())
    return usage_error("--cert and --key are required");
  if (!have_binance && !have_okx) {
    opt.binance_symbols = {"BTCUSDT"};
    opt.okx_symbols = {"BTC-USDT"};
  }
  for (const auto& s : opt.okx_symbols) {
    if (s.find('-') == std::string::npos)
      return usage_error("OKX instIds look like BTC-USDT: " + s);
  }
  for (const auto& s : opt.binance_symbols) {
    for (char c : s) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
        return usage_error("Binance symbols look like BTCUSDT: " + s);
      }
    }
  }
  return cats::fake::run_server(opt);
}
