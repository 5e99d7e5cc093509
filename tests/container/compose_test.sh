#!/usr/bin/env bash
# The compose stack for real (label `container`): builds deploy/Dockerfile, brings up
# deploy/docker-compose.yml with the fake exchange as one more service, checks that trades flow fake
# exchange -> collector -> NATS -> engine -> strategy, drops a new build of the strategy's .so
# into the plugins folder and sees the engine swap it in, then tears everything down.
# Needs podman and podman-compose with a local debian:12 image (../shared/containers.md); exits
# 77 (skipped) with a message otherwise.
#   usage: compose_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)

skip() { echo "SKIPPED: $*"; exit 77; }
command -v podman >/dev/null || skip "podman is not installed (../shared/tools/container-sandbox.sh sets it up)"
command -v podman-compose >/dev/null || skip "podman-compose is not installed"
podman image exists debian:12 || skip "no local debian:12 image (../shared/tools/container-sandbox.sh builds one)"

work=$(mktemp -d /tmp/cats-compose.XXXXXX)
project="catstest$$"
compose() {
  (cd "$src/deploy" && podman-compose -p "$project" -f docker-compose.yml \
    -f "$src/tests/container/fake-exchange.yml" "$@")
}
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "--- engine log"; podman logs "${project}_engine_1" 2>&1 | tail -40 || true
    echo "--- collector log"; podman logs "${project}_collector_1" 2>&1 | tail -40 || true
    echo "--- nats log"; podman logs "${project}_nats_1" 2>&1 | tail -20 || true
    echo "--- fake log"; podman logs "${project}_fake_1" 2>&1 | tail -20 || true
    echo "--- compose up"; cat "$work/up.log" 2>/dev/null | grep -v "^\[" | tail -20 || true
  fi
  compose down -v >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

t0=$(date +%s)
podman build --pull=never -q -f "$src/deploy/Dockerfile" --target nats -t cats-nats:test "$src" >/dev/null
podman build --pull=never -q -f "$src/deploy/Dockerfile" --target runtime -t cats:test "$src" >/dev/null
echo "images built in $(( $(date +%s) - t0 )) s"

# The fake exchange as a service of the stack (tests/container/fake-exchange.yml): wss://fake:8443.
mkdir -p "$work/config" "$work/plugins"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=fake \
  -addext subjectAltName=DNS:fake,IP:127.0.0.1 -keyout "$work/config/key.pem" \
  -out "$work/config/cert.pem" >/dev/null 2>&1
venue='[venues.binance]
ws_url = "wss://fake:8443"
rest_url = "https://fake:8443"
ca_file = "/etc/cats/cert.pem"
[[instrument]]
symbol = "BINANCE:BTCUSDT"
channels = ["trades", "book"]
tick_size = "0.01"
lot_size = "0.00001"'
cat >"$work/config/collector.toml" <<TOML
[engine]
log_level = "info"
[live]
status_interval = 1
[bus]
snapshot_interval = 1
[record]
dir = "/records"
$venue
TOML
cat >"$work/config/engine.toml" <<TOML
[engine]
log_level = "info"
[live]
status_interval = 1
[bus]
durable = "compose-test"
start = "all"
$venue
[backtest]
initial_cash = 10000
[[strategy]]
name = "sma"
plugin = "ma_crossover"
[strategy.params]
symbol = "BINANCE:BTCUSDT"
fast = 3
slow = 5
timeframe = "1s"
TOML
cp "$build/lib/cats/plugins/ma_crossover.so" "$work/plugins/"
chmod -R a+rX "$work"

export CATS_IMAGE=cats:test CATS_NATS_IMAGE=cats-nats:test
export CATS_CONFIG_DIR="$work/config" CATS_PLUGINS_DIR="$work/plugins" CATS_FAKE_DIR="$build/bin"
t1=$(date +%s)
compose up -d >"$work/up.log" 2>&1 || true  # podman-compose's own exit code says little

# The engine's /status, read inside its container (the metrics port is not published).
status() {
  podman exec "${project}_engine_1" bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/9465 && printf "GET /status HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
    2>/dev/null | python3 -c '
import json, sys
text = sys.stdin.read()
try:
    d = json.loads(text[text.index("{"):])
except Exception:
    print("0 0"); sys.exit(0)
s = d.get("strategies") or [{}]
print(d.get("events", 0), s[0].get("events", 0))'
}
# Events reach the engine and its strategy through the bus.
ok=""
for _ in $(seq 120); do
  read -r events strategy_events < <(status)
  if (( events > 200 && strategy_events > 0 )); then ok=1; break; fi
  sleep 1
done
[[ -n "$ok" ]] || { echo "FAILED: no events reached the engine's strategy ($events events)"; exit 1; }
echo "stack up and trading in $(( $(date +%s) - t1 )) s: engine $events events, strategy $strategy_events"

# A new build of the strategy dropped into the plugins folder is swapped in.
cp "$build/lib/cats/plugins/ma_crossover.so" "$work/plugins/ma_crossover.so.new"
mv "$work/plugins/ma_crossover.so.new" "$work/plugins/ma_crossover.so"
ok=""
for _ in $(seq 60); do
  if podman logs "${project}_engine_1" 2>&1 | grep -q "hot reload: .* -> "; then ok=1; break; fi
  sleep 1
done
[[ -n "$ok" ]] || { echo "FAILED: the engine did not swap in the new plugin build"; exit 1; }
ok=""
for _ in $(seq 30); do  # /status is refreshed every 500 ms
  read -r events2 _ < <(status)
  if (( events2 > events + 100 )); then ok=1; break; fi
  sleep 1
done
[[ -n "$ok" ]] || { echo "FAILED: events stopped after the reload ($events2 events)"; exit 1; }
echo "hot reload inside the container: ok ($events2 events)"
compose down -v >/dev/null 2>&1
echo "compose test passed in $(( $(date +%s) - t0 )) s"
