#!/usr/bin/env bash
# enclaved + pipeline end to end with the fake backend (host processes stand
# in for enclaves): run/ps/inspect/stop/rm, TCP port forward through pf-proxy,
# killed enclave → restart policy + event, daemon restart → re-attach,
# WebSocket event stream, hostile API input, compose up/down leaving nothing.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$BUILD" && pwd)
ENCLAVED="$BUILD/engine/enclaved"
PIPELINE="$BUILD/engine/pipeline"
FAKE="$BUILD/engine/ef-fake-enclave"
PFPROXY="$BUILD/netproxy/pf-proxy"
EIF="$(cd "$SRC" && pwd)/tests/vectors/eif_selfgenerated/unsigned.eif"
STATE="$TMP/state"
export ENCLAVED_SOCKET="$TMP/api.sock"
PORT=$((20000 + RANDOM % 20000))

start_daemon() {
  "$ENCLAVED" --state-dir "$STATE" --socket "$ENCLAVED_SOCKET" --backend fake --fake-enclave "$FAKE" \
    --fake-ports 80,7000 --pf-proxy "$PFPROXY" --poll-interval-ms 100 --log-format json >>"$TMP/enclaved.log" 2>&1 &
  DAEMON=$!
  for _ in $(seq 100); do [ -S "$ENCLAVED_SOCKET" ] && "$PIPELINE" version >/dev/null 2>&1 && return; sleep 0.05; done
  cat "$TMP/enclaved.log"; fail "enclaved did not come up"
}
stop_daemon() { kill "$DAEMON"; wait "$DAEMON" || true; }
cleanup() {
  kill "$DAEMON" 2>/dev/null || true
  for pid in $(pgrep -f "$TMP" || true); do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap 'tail -30 "$TMP/enclaved.log"; cleanup' EXIT  # KEEP=1: show the daemon's log
field() { python3 -c "import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(eval('d'+sys.argv[1]))" "$1"; }
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

start_daemon
[ "$(stat -c %a "$STATE")" = 700 ] || fail "state dir mode $(stat -c %a "$STATE")"
[ "$(stat -c %a "$ENCLAVED_SOCKET")" = 660 ] || fail "socket mode $(stat -c %a "$ENCLAVED_SOCKET")"
grep '"msg":"enclaved starting"' "$TMP/enclaved.log" | grep '"state_dir"' >/dev/null || fail "no JSON start line with the config"
pass "daemon up: state 0700, socket 0660, JSON start log with config"

"$PIPELINE" run "$EIF" --name web -p "127.0.0.1:$PORT:80" --restart on-failure:3 --health-port 80 --health-http / >/dev/null
grep -qE '^web +running' <<<"$("$PIPELINE" ps)" || fail "ps: $("$PIPELINE" ps)"
[ "$("$PIPELINE" inspect web | field '["image_sha256"]')" = "$(sha256sum "$EIF" | cut -d' ' -f1)" ] || fail "image sha256"
for _ in $(seq 300); do [ "$("$PIPELINE" inspect web | field '["health"]')" = healthy ] && break; sleep 0.05; done
[ "$("$PIPELINE" inspect web | field '["health"]')" = healthy ] || fail "never healthy"
[ "$(curl -fsS "http://127.0.0.1:$PORT/")" = ok ] || fail "port forward through pf-proxy"
pass "run / ps / inspect (sha256 = sha256sum), health, tcp → vsock forward"

grep -q "fake enclave .* booted" <<<"$("$PIPELINE" logs web)" || fail "console log"
[ "$("$PIPELINE" logs --tail 2 web | wc -l)" = 2 ] || fail "logs --tail 2: $("$PIPELINE" logs --tail 2 web)"
[ "$("$PIPELINE" logs --tail 2 web)" = "$("$PIPELINE" logs web | tail -n 2)" ] || fail "logs --tail differs from tail(1)"
timeout 2 "$PIPELINE" logs -f web >"$TMP/follow.out" & FOLLOW=$!
sleep 0.5; curl -fsS "http://127.0.0.1:$PORT/" >/dev/null; sleep 0.5
kill "$FOLLOW" 2>/dev/null || true; wait "$FOLLOW" 2>/dev/null || true
[ "$(grep -c "connection on port 80" "$TMP/follow.out")" -ge 1 ] || fail "logs -f did not follow: $(cat "$TMP/follow.out")"
if [ ! -d "$BUILD/runtime/agent" ]; then  # built without runtime/agent
  expect_fail "no attested-channel client" "$PIPELINE" exec web --root /dev/null -- true
fi
expect_fail "pass --root" env -u EF_ATTEST_ROOT "$PIPELINE" attest web
pass "logs, logs --tail, logs -f; the attested commands never fall back to an unverified channel"

expect_fail "already in use" "$PIPELINE" run "$EIF" --name web
expect_fail "stop it first" "$PIPELINE" rm web
expect_fail "no enclave named 'ghost'" "$PIPELINE" stop ghost
expect_fail "did you mean 'inspect'" "$PIPELINE" inspekt web
expect_fail "port mapping" "$PIPELINE" run "$EIF" --name x -p 80
pass "conflicts and usage errors are clear"

pid=$("$PIPELINE" inspect web | field '["handle"]["pid"]')
kill -9 "$pid"
for _ in $(seq 300); do grep -q '"type":"restarted"' <<<"$("$PIPELINE" events --json)" && break; sleep 0.05; done
EV=$("$PIPELINE" events --json)
grep -q '"type":"exited"' <<<"$EV" || fail "no exited event: $EV"
grep -q '"type":"restarted"' <<<"$EV" || fail "no restarted event: $EV"
newpid=$("$PIPELINE" inspect web | field '["handle"]["pid"]')
[ "$newpid" != "$pid" ] && alive "$newpid" || fail "not restarted"
pass "killed enclave: exited + restarted events, new process"

# WebSocket event stream (python's raw socket, RFC 6455 handshake).
python3 - "$ENCLAVED_SOCKET" >"$TMP/ws.out" <<'PY' &
import base64, os, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /v1/events?since=0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
buf = b""
while b"\r\n\r\n" not in buf: buf += s.recv(1)
assert buf.startswith(b"HTTP/1.1 101"), buf
import hashlib
want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
assert ("Sec-WebSocket-Accept: " + want).encode() in buf, buf
def frame():
    h = s.recv(2, socket.MSG_WAITALL); n = h[1] & 0x7f
    if n == 126: n = int.from_bytes(s.recv(2, socket.MSG_WAITALL), "big")
    return s.recv(n, socket.MSG_WAITALL).decode() if n else ""
while True:
    f = frame(); print(f, flush=True)
    if '"type":"stopped"' in f: break
PY
WS=$!
sleep 0.5
"$PIPELINE" stop web >/dev/null
wait "$WS" || fail "websocket client failed"
grep -q '"type":"started"' "$TMP/ws.out" && grep -q '"type":"stopped"' "$TMP/ws.out" || fail "websocket events: $(cat "$TMP/ws.out")"
pass "WebSocket /v1/events streams past and live events"

# Re-attach: a daemon restart keeps a running enclave.
"$PIPELINE" rm web >/dev/null
"$PIPELINE" run "$EIF" --name keep --restart always >/dev/null
kpid=$("$PIPELINE" inspect keep | field '["handle"]["pid"]')
stop_daemon
alive "$kpid" || fail "enclave died with the daemon"
start_daemon
[ "$("$PIPELINE" inspect keep | field '["handle"]["pid"]')" = "$kpid" ] || fail "not re-attached"
grep -q '"type":"reattached"' <<<"$("$PIPELINE" events --json --enclave keep)" || fail "no reattached event"
pass "enclaved restarted while an enclave runs: re-attached to the same process"

# Hostile input straight to the socket: every answer is a JSON error, the daemon survives.
python3 - "$ENCLAVED_SOCKET" <<'PY' || fail "hostile input"
import json, socket, sys
def ask(raw):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(raw)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    return out
cases = [
    (b"GARBAGE\r\n\r\n", 400), (b"GET / HTTP/9.9\r\n\r\n", 505), (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X%d: y\r\n" % i for i in range(100)) + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nX: " + b"y" * 20000 + b"\r\n\r\n", 431), (b"GET / HTTP/1.1\r\n\r\n", 404),
    (b"POST /v1/enclaves HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"POST /v1/enclaves HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
    (b"POST /v1/enclaves HTTP/1.1\r\nContent-Length: 3\r\n\r\n{x}", 422),
    (b"GET /v1/enclaves/..%2f..%2fetc HTTP/1.1\r\n\r\n", 400), (b"GET /v1/enclaves/a%2fb HTTP/1.1\r\n\r\n", 404),
    (b"DELETE /v1/enclaves/x/y/z HTTP/1.1\r\n\r\n", 404),
    (b"POST /v1/enclaves HTTP/1.1\r\nContent-Length: 40\r\n\r\n" + b'{"name":"a","image":"/etc/passwd","x":[' .ljust(40, b"["), 422),
]
for raw, status in cases:
    out = ask(raw)
    head, _, body = out.partition(b"\r\n\r\n")
    got = int(head.split()[1])
    assert got == status, (raw[:60], got, out[:200])
    assert "message" in json.loads(body)["error"], body
print("hostile ok")
PY
"$PIPELINE" version >/dev/null || fail "daemon died on hostile input"
expect_fail "image .*/etc/passwd" "$PIPELINE" run /etc/passwd --name pw
pass "hostile API input: JSON errors with the right status, daemon alive"

# Compose: bad files are refused before anything starts, with file:line: key.
cat >"$TMP/bad.yaml" <<Y
project: demo
enclaves:
  a:
    image: $EIF
    depends_on: [b]
  b:
    image: $EIF
    depends_on: [a]
Y
expect_fail "bad.yaml:3: enclaves: depends_on cycle: a -> b -> a|bad.yaml:[0-9]+: enclaves: depends_on cycle" "$PIPELINE" up -f "$TMP/bad.yaml"
printf 'enclaves:\n  a:\n    image: %s\n    cpus: many\n' "$EIF" >"$TMP/bad2.yaml"
expect_fail "bad2.yaml:4: .*cpus" "$PIPELINE" up -f "$TMP/bad2.yaml"
[ "$("$PIPELINE" ps --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] || fail "a bad file started something"
pass "bad compose files: file:line: key, nothing started"

P2=$((PORT + 1))
cat >"$TMP/enclaves.yaml" <<Y
project: demo
enclaves:
  api:
    image: $EIF
    ports: ["127.0.0.1:$P2:80"]
    egress: {port: 8002, allow: ["127.0.0.1:9"], deny: [169.254.169.254]}
    health: {port: 80, http: /, interval: 100ms}
    restart: on-failure
    depends_on: [db]
  db:
    image: $EIF
    health: {port: 7000, interval: 100ms}
Y
grep -q "2 enclave(s) healthy" <<<"$("$PIPELINE" up -f "$TMP/enclaves.yaml")" || fail "up"
[ "$(curl -fsS "http://127.0.0.1:$P2/")" = ok ] || fail "compose port"
pids=$("$PIPELINE" ps --json | python3 -c 'import json,sys
for r in json.load(sys.stdin):
  if r["spec"]["project"]=="demo": print(r["handle"]["pid"], r["proxy"]["pid"])')
grep -q "removed api" <<<"$("$PIPELINE" down -f "$TMP/enclaves.yaml")" || fail "down"
sleep 0.3
for p in $pids; do [ "$p" = 0 ] && continue; alive "$p" && fail "process $p left after down"; done
[ -z "$(ls "$STATE/enclaves" | grep -v '^keep$')" ] || fail "files left: $(ls "$STATE/enclaves")"
! grep -q ":$P2 " <<<"$(ss -ltn)" || fail "port $P2 still listening"
pass "up waits for health; down leaves no process, proxy, listener or file"

# run SPEC.yaml: built by rbuild (inputs checked against the lock), verified, PCRs expected.
mkdir -p "$TMP/ws/specs/inputs/root" "$TMP/ws/lockfiles"
head -c 50000 /dev/urandom >"$TMP/ws/specs/inputs/kernel.bin"
head -c 3000 /dev/urandom >"$TMP/ws/specs/inputs/init.bin"
echo hello >"$TMP/ws/specs/inputs/root/a.txt"
cat >"$TMP/ws/specs/mini.yaml" <<'Y'
name: mini
version: "0.0.1"
resources: {cpus: 2, memory: 256}
source_date_epoch: 1700000000
kernel: {path: inputs/kernel.bin}
init: inputs/init.bin
rootfs:
  - directory: inputs/root
cmd: ["/bin/sh"]
Y
( cd "$TMP/ws" && HOME="$TMP" "$BUILD/builder/rbuild" lock specs/mini.yaml >/dev/null )
HOME="$TMP" "$PIPELINE" run "$TMP/ws/specs/mini.yaml" --name mini -o "$TMP/ws/out" --rbuild "$BUILD/builder/rbuild" >/dev/null 2>&1 \
  || fail "run SPEC.yaml: $(HOME="$TMP" "$PIPELINE" run "$TMP/ws/specs/mini.yaml" --name mini2 -o "$TMP/ws/out" --rbuild "$BUILD/builder/rbuild" 2>&1)"
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["PCR0"])' "$TMP/ws/out/mini.pcrs.json")
[ "$("$PIPELINE" inspect mini | field '["spec"]["expected_pcrs"]["0"]')" = "$want" ] || fail "expected PCR0 from the build"
[ "$("$PIPELINE" inspect mini | field '["pcrs"]["PCR0"]')" = "$want" ] || fail "measured PCR0"
echo changed >"$TMP/ws/specs/inputs/root/a.txt"
HOME="$TMP" expect_fail "differ from" "$PIPELINE" run "$TMP/ws/specs/mini.yaml" --name mini3 -o "$TMP/ws/out" --rbuild "$BUILD/builder/rbuild"
"$PIPELINE" inspect mini3 >/dev/null 2>&1 && fail "a spec that no longer matches its lock was run"
"$PIPELINE" rm -f mini >/dev/null
pass "run SPEC.yaml: rbuild build + verify, PCRs from the build expected; a changed input is refused"

"$PIPELINE" rm -f keep >/dev/null
alive "$kpid" && fail "rm -f left the enclave"
grep -qE '^enclaved_launches_total [1-9]' <<<"$(curl -fsS --unix-socket "$ENCLAVED_SOCKET" http://x/metrics)" || fail "metrics"
pass "metrics"
stop_daemon
[ ! -e "$ENCLAVED_SOCKET" ] || fail "socket left after stop"
echo "all engine CLI checks passed"
