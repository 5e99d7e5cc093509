#!/bin/sh
# Writes a self-signed certificate for 127.0.0.1/localhost, valid for two days, for
# cats_fake_exchange: make_cert.sh DIR  ->  DIR/cert.pem, DIR/key.pem
set -eu
dir=${1:-.}
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
echo "$dir/cert.pem $dir/key.pem"
