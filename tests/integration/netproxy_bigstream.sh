#!/usr/bin/env bash
# One 1 GiB stream through both halves of pf-proxy as separate processes
# (tcp → pf-proxy → unix "vsock" → pf-proxy → tcp echo) and back, checked by sha256.
# usage: netproxy_bigstream.sh PF_PROXY PF_PEER [BYTES]
set -euo pipefail
proxy=$(realpath "$1"); peer=$(realpath "$2"); bytes=${3:-1073741824}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
"$peer" echo tcp:127.0.0.1:0 > "$dir/echo.log" & pids+=($!)
for i in $(seq 50); do grep -q listening "$dir/echo.log" && break; sleep 0.1; done
echo_addr=$(awk '/listening/ {print $2}' "$dir/echo.log")
"$proxy" forward --listen "unix:$dir/v.sock" --connect "tcp:$echo_addr" 2> "$dir/inner.log" & pids+=($!)
while :; do  # a port below the ephemeral range, unused in any state
  port=$((20000 + RANDOM % 12000))
  ss -Htan | awk '{print $4}' | grep -q ":$port\$" || break
done
"$proxy" forward --listen "tcp:127.0.0.1:$port" --connect "unix:$dir/v.sock" 2> "$dir/outer.log" & pids+=($!)
for i in $(seq 50); do [ -S "$dir/v.sock" ] && grep -q started "$dir/outer.log" && break; sleep 0.1; done
"$peer" check "tcp:127.0.0.1:$port" --size "$bytes" --count 1
