#!/usr/bin/env bash
# fs-monitor -> NATS JetStream KV with a real nats-server: every file and directory
# of the tree appears under PREFIX.base64url(path) with the right JSON value;
# deletes remove keys; after nats-server restarts, the snapshot repairs the bucket.
# ra-web-srv is absent throughout (its socket path does not exist): that must not
# hold anything up.
source "$(dirname "$0")/lib.sh"
FSMON="$BUILD/attest/fsmon/fs-monitor"
PEER="$BUILD/attest/fsmon/fsmon-testpeer"
LIB="$SRC/tests/integration/fsmon_lib.py"
command -v nats-server >/dev/null || fail "nats-server not installed (scripts/setup installs it)"
ROOT="$TMP/root"
mkdir -p "$ROOT/a/b" "$TMP/js"
echo one > "$ROOT/a/one"; echo two > "$ROOT/a/b/two"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="nats://127.0.0.1:$PORT"
start_nats() { nats-server -js -a 127.0.0.1 -p "$PORT" -sd "$TMP/js" >>"$TMP/nats.log" 2>&1 & NPID=$!; }
start_nats
cat > "$TMP/config.yaml" <<CFG
roots: [$ROOT]
socket: $TMP/absent/files.sock
nats:
  url: $URL
  bucket: fsmon_test
  key_prefix: enc1.files
CFG
"$FSMON" --config "$TMP/config.yaml" 2>"$TMP/fsmon.log" & FPID=$!
cleanup() { kill "$FPID" "$NPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

kv_wait() {
  for _ in $(seq 1 300); do
    if "$PEER" kv-dump "$URL" fsmon_test >"$TMP/dump" 2>/dev/null && python3 "$LIB" kvcheck "$TMP/dump" enc1.files "$ROOT" >"$TMP/check"; then
      cat "$TMP/check"; pass "$1"; return 0
    fi
    sleep 0.2
  done
  cat "$TMP/check" 2>/dev/null; tail -5 "$TMP/fsmon.log"; fail "$1"
}
kv_wait "initial scan in the bucket"
echo three > "$ROOT/a/three"; mkdir -p "$ROOT/c/d" && echo four > "$ROOT/c/d/four"
kv_wait "writes"
rm -rf "$ROOT/a/b"; rm "$ROOT/a/one"
kv_wait "deletes remove keys"
# one value against openssl
key="enc1.files.$(printf '%s' "$ROOT/c/d/four" | base64 -w0 | tr '+/' '-_' | tr -d '=')"
want=$(openssl dgst -sha3-512 -r "$ROOT/c/d/four" | cut -d' ' -f1)
grep -q "^$key	.*\"sha3_512\":\"$want\"" "$TMP/dump" || fail "value of $key"
pass "key encoding and value checked with base64 and openssl"

kill "$NPID"; wait "$NPID" 2>/dev/null || true
echo while-down > "$ROOT/down"; rm "$ROOT/a/three"
sleep 1
start_nats
kv_wait "resync after nats-server restart"
