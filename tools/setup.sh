#!/usr/bin/env bash
# Installs the Debian 12 packages CATS needs, and only those that are missing. Safe to re-run:
# when everything is present it does nothing (no apt-get update, no root needed).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config          # toolchain
  libboost-dev libboost-program-options-dev  # Boost.DLL, Asio, Beast (headers), program_options
  libssl-dev openssl                          # TLS; the openssl CLI makes the tests' certificates
  libsimdjson-dev zlib1g-dev                  # venue JSON parsing; CRC32 (OKX books, recordings)
  libzip-dev                                  # reading Binance public-data .zip files directly
  libtomlplusplus-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3                                     # the independent reference in the tests
  python3-pandas python3-numpy                # the Python module; a second opinion on indicators
  pybind11-dev python3-dev                    # the Python module (python/)
  clang-format                                # the formatting check (tools/check_format.sh)
  clang-14 libclang-rt-14-dev                 # libFuzzer with ASan + UBSan (tools/fuzz.sh)
  chromium                                    # renders the HTML report headless in a test
  libnats-dev nats-server                     # the bus (NATS JetStream): client library, server
)

missing=()
for p in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
