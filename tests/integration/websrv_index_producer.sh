#!/usr/bin/env bash
# ra-web-srv's file index accepts one producer: while fs-monitor is connected a
# second peer on the FILE-INDEX socket is refused (its snapshot never replaces
# fs-monitor's entries), a peer whose uid (SO_PEERCRED) is not files.producer_uid
# is refused, and both are logged and counted in /metrics. Expected hashes come
# from `openssl dgst -sha3-512`.
source "$(dirname "$0")/lib.sh" "$@"
SRV="$BUILD/attest/websrv/ra-web-srv"; MON="$BUILD/attest/fsmon/fs-monitor"
for b in "$SRV" "$MON"; do [ -x "$b" ] || fail "$b not built"; done
for t in curl openssl python3; do command -v $t >/dev/null || fail "$t is needed"; done
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DATA="$TMP/data"; mkdir -p "$DATA"
printf 'one' > "$DATA/a.txt"; printf 'two' > "$DATA/b.txt"; printf 'three' > "$DATA/c.txt"
sha3() { openssl dgst -sha3-512 -r "$1" | cut -d' ' -f1; }
# server CONFIG_EXTRA: starts ra-web-srv (plain HTTP on loopback) with files: {socket, EXTRA}.
server() {
  PORT=$(port); B="http://127.0.0.1:$PORT"
  cat > "$TMP/srv.yaml" <<YAML
listen: {tcp: 127.0.0.1:$PORT}
tls: {enabled: false}
nsm: {mode: simulated, state_dir: $TMP/sim}
files: {socket: $TMP/run/files.sock$1}
limits: {io_threads: 1}
YAML
  "$SRV" --config "$TMP/srv.yaml" > "$TMP/srv.log" 2>&1 & SRV_PID=$!
  for _ in $(seq 100); do [ -S "$TMP/run/files.sock" ] && curl -sf "$B/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$TMP/srv.log"; fail "ra-web-srv did not come up"
}
trap 'kill ${SRV_PID:-} ${MON_PID:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
hash_of() { curl -s "$B/v1/files/hash?path=$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("sha3_512",""))'; }
count() { curl -sf "$B/v1/files?prefix=/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
metric() { curl -sf "$B/metrics" | sed -n "s/^ra_web_srv_index_refusals_total{reason=\"$1\"} //p"; }
wait_log() { for _ in $(seq 100); do grep -q "$1" "$TMP/srv.log" && return 0; sleep 0.05; done; fail "no '$1' in: $(tail -5 "$TMP/srv.log")"; }
# intruder: a second peer that sends a one-entry snapshot (the attack the issue shows).
intruder() {
  python3 - "$TMP/run/files.sock" "$(sha3 "$DATA/a.txt")" <<'PY' || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
lines = ['{"op":"snapshot_begin"}',
         '{"op":"put","path":"/evil","kind":"file","sha3_512":"%s","size":3}' % sys.argv[2],
         '{"op":"snapshot_end"}']
try:
    s.sendall("".join(l + "\n" for l in lines).encode())
    time.sleep(0.3)
except OSError:
    pass
s.close()
PY
}

# 1. fs-monitor is the producer (same uid as ra-web-srv: the default).
server ""
cat > "$TMP/mon.yaml" <<YAML
roots: [$DATA]
socket: $TMP/run/files.sock
status_interval_s: 0
YAML
"$MON" --config "$TMP/mon.yaml" > "$TMP/mon.log" 2>&1 & MON_PID=$!
for _ in $(seq 200); do [ "$(hash_of "$DATA/c.txt")" = "$(sha3 "$DATA/c.txt")" ] && break; sleep 0.05; done
[ "$(hash_of "$DATA/c.txt")" = "$(sha3 "$DATA/c.txt")" ] || fail "fs-monitor's snapshot did not arrive: $(tail -5 "$TMP/mon.log")"
before=$(count)
[ "$before" -ge 3 ] || fail "only $before entries from fs-monitor"
[ "$(metric busy)" = 0 ] && [ "$(metric uid)" = 0 ] || fail "refusal counters not 0 at start"
intruder
wait_log "refused a second connection while the producer is connected"
[ "$(count)" = "$before" ] || fail "a second peer changed the index: $before -> $(count) entries"
[ -z "$(hash_of /evil)" ] || fail "the second peer's entry is served"
[ "$(hash_of "$DATA/a.txt")" = "$(sha3 "$DATA/a.txt")" ] || fail "fs-monitor's entry is gone"
[ "$(metric busy)" = 1 ] || fail "busy refusals: $(metric busy)"
grep -q "refused a second connection.*peer_uid" "$TMP/srv.log" || fail "refusal log names no peer"
# fs-monitor still feeds the index after the refusal.
printf 'four' > "$DATA/d.txt"
for _ in $(seq 200); do [ "$(hash_of "$DATA/d.txt")" = "$(sha3 "$DATA/d.txt")" ] && break; sleep 0.05; done
[ "$(hash_of "$DATA/d.txt")" = "$(sha3 "$DATA/d.txt")" ] || fail "fs-monitor's updates stopped after the refusal"
pass "a second peer is refused while fs-monitor is connected; logged and counted"

# 2. Once the producer is gone, a new producer connection is accepted.
kill "$MON_PID"; wait "$MON_PID" 2>/dev/null || true; MON_PID=
wait_log "fs-monitor disconnected"
intruder
for _ in $(seq 100); do [ -n "$(hash_of /evil)" ] && break; sleep 0.05; done
[ "$(hash_of /evil)" = "$(sha3 "$DATA/a.txt")" ] || fail "a producer after fs-monitor left was not accepted"
[ "$(metric busy)" = 1 ] || fail "busy refusals changed: $(metric busy)"
pass "the next producer is accepted once the first has disconnected"

# 3. A peer whose uid is not the configured producer's is refused.
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
other_uid=$(( $(id -u) + 4242 ))
server ", producer_uid: $other_uid"
intruder
wait_log "refused a connection from a uid that is not the producer's"
grep -q "producer_uid.*$other_uid" "$TMP/srv.log" || fail "uid refusal does not name the producer uid"
[ -z "$(hash_of /evil)" ] || fail "a peer with the wrong uid fed the index"
[ "$(count)" = 0 ] || fail "index not empty: $(count)"
[ "$(metric uid)" = 1 ] || fail "uid refusals: $(metric uid)"
"$SRV" check-config "$TMP/srv.yaml" | grep -q "\"producer_uid\": $other_uid" || fail "check-config does not show producer_uid"
pass "a peer with another uid is refused (SO_PEERCRED); logged and counted"
