#!/usr/bin/env bash
# The whole host half end to end in local mode (QEMU TCG): enclaved with the
# LocalBackend, the DEFAULT image (built from the committed spec and lock),
# and pipeline over the attested channel to its ef-agent:
#   up (compose) → healthy; ra-web-srv reached from the host through -p;
#   attest = rbuild describe's PCRs; exec output + exit status; transparent
#   egress to a host server allowed, another denied; secret put; cp 64 MiB in
#   and out (sha256); logs -f follows a service; wrong PCRs and an unlisted
#   operator key refused before any request (the agent never sees one);
#   enclaved restarted → re-attached; QEMU killed → restart policy + event;
#   down leaves no process, socket or state file; a bad compose file names
#   file:line:key; the README's local-mode command works as written.
source "$(dirname "$0")/../integration/lib.sh"
PIPELINE="$BUILD/engine/pipeline"
ENCLAVED="$BUILD/engine/enclaved"
for t in qemu-system-x86_64 curl openssl python3 sha256sum pgrep; do
  command -v $t >/dev/null || fail "needs $t (scripts/setup)"
done
for b in "$PIPELINE" "$ENCLAVED" "$BUILD/engine/local/ef-vsock-bridge" "$BUILD/netproxy/pf-proxy"; do
  [ -x "$b" ] || fail "no $b (build enclaved pipeline ef-vsock-bridge pf-proxy)"
done
cd "$SRC"
"$RBUILD" build specs/default.yaml --lock lockfiles/default.lock.json -o "$TMP/out" --cache "$TMP/cache" >/dev/null
eif="$TMP/out/default.eif"
"$RBUILD" describe "$eif" > "$TMP/describe.json"

STATE="$TMP/state"
export ENCLAVED_SOCKET="$TMP/api.sock"
ENCLAVED_ARGS=(--backend local --accel tcg --state-dir "$STATE" --socket "$ENCLAVED_SOCKET"
               --local-registry "$TMP/registry" --poll-interval-ms 200)
# Everything this test started carries $TMP in its command line.
ours() { pgrep -f -- "$TMP" | grep -vx "$$" || true; }
cleanup() {
  "$PIPELINE" down -f "$TMP/c/enclaves.yaml" >/dev/null 2>&1 || true
  ENCLAVED_SOCKET="$TMP/r.sock" "$PIPELINE" rm -f default >/dev/null 2>&1 || true
  for p in $(ours); do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
start_enclaved() { "$ENCLAVED" "${ENCLAVED_ARGS[@]}" --detach || fail "enclaved: $(tail -5 "$STATE/enclaved.log")"; }
enclaved_pid() { pgrep -f -- "--socket $ENCLAVED_SOCKET" | head -1; }
start_enclaved

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)

# Two servers on the host, at an address that is not the enclave's loopback:
# egress to ALLOWED passes the host dialer's policy, DENIED does not.
HOST_IP=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
[ -n "$HOST_IP" ] || fail "the host has no global IPv4 address for the egress servers (ip -4 addr)"
ALLOWED=$(free_port); DENIED=$(free_port)
mkdir "$TMP/www" "$TMP/www2"
echo "egress-marker-$$" > "$TMP/www/marker.txt"
(cd "$TMP/www" && exec python3 -m http.server --bind "$HOST_IP" "$ALLOWED" > "$TMP/www.log" 2>&1) &
(cd "$TMP/www2" && exec python3 -m http.server --bind "$HOST_IP" "$DENIED" > "$TMP/www2.log" 2>&1) &

# ---- a bad compose file: file:line:key, nothing started --------------------
mkdir "$TMP/bad" "$TMP/c"
printf 'enclaves:\n  web:\n    image: x.eif\n    cpus: many\n' > "$TMP/bad/enclaves.yaml"
expect_fail "enclaves.yaml:4.*cpus" "$PIPELINE" up -f "$TMP/bad/enclaves.yaml"
[ "$("$PIPELINE" ps --json)" = "[]" ] || fail "a rejected compose file started something"
pass "bad compose file refused with file:line:key ($("$PIPELINE" up -f "$TMP/bad/enclaves.yaml" 2>&1 | head -1))"

# ---- up ---------------------------------------------------------------------
cat > "$TMP/c/enclaves.yaml" <<EOF
project: e2e
enclaves:
  web:
    image: $eif
    cpus: 2
    memory: 512M
    ports: ["127.0.0.1:$PORT:8443"]
    health: {port: 8443, interval: 500ms}
    egress: {port: 8002, allow: ["$HOST_IP/32:$ALLOWED"]}
    restart: always
EOF
t0=$(date +%s.%N)
timeout 240 "$PIPELINE" up -f "$TMP/c/enclaves.yaml" > "$TMP/up.log" 2>&1 || fail "up: $(cat "$TMP/up.log")"
t1=$(date +%s.%N)
"$PIPELINE" ps | grep -E '^web +running +healthy +local' >/dev/null || fail "ps after up: $("$PIPELINE" ps)"
pass "pipeline up: web running and healthy on the local backend in $(python3 -c "print(round($t1-$t0,1))") s"
code=$(curl -sk --max-time 60 -o "$TMP/pcrs.json" -w '%{http_code}' "https://127.0.0.1:$PORT/v1/pcrs") || fail "curl through -p"
[ "$code" = 200 ] || fail "GET /v1/pcrs through the host port answered $code"
pass "host 127.0.0.1:$PORT → pf-proxy → hvsock bridge → ra-web-srv: GET /v1/pcrs 200"

# ---- attest -----------------------------------------------------------------
"$PIPELINE" attest web --json > "$TMP/attest.json" || fail "attest failed"
python3 - "$TMP/attest.json" "$TMP/describe.json" "$TMP/pcrs.json" <<'PY' || fail "attest PCRs differ from rbuild describe"
import json, sys
a = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))["Measurements"]
w = {p["index"]: p["value"] for p in json.load(open(sys.argv[3]))["pcrs"]}
assert a["verified"] is True, a
pcrs = {str(k).upper().replace("PCR", ""): v for k, v in a["pcrs"].items()}
for i in (0, 1, 2):
    assert pcrs[str(i)] == d["PCR%d" % i] == w[i], (i, pcrs.get(str(i)), d["PCR%d" % i], w.get(i))
PY
pass "attest verified; PCR0/1/2 = rbuild describe's = ra-web-srv's /v1/pcrs"

# ---- exec -------------------------------------------------------------------
rc=0
out=$("$PIPELINE" exec web -- sh -c 'echo hi; echo err >&2; exit 3' 2>"$TMP/exec.err") || rc=$?
[ "$out" = hi ] && [ "$rc" = 3 ] && [ "$(cat "$TMP/exec.err")" = err ] || fail "exec: out='$out' rc=$rc err=$(cat "$TMP/exec.err")"
pass "exec: stdout 'hi', stderr 'err', exit status 3"

# ---- transparent egress through the host's pf-proxy -----------------------------
# nc in the enclave → nft redirect → pf-proxy transparent :3128 → vsock 3:8002
# → bridge → the host dialer enclaved started, whose policy allows only ALLOWED.
# (nc -w, not wget: Debian's busybox 1.35 wget segfaults when given -T, on any host.)
get_inside() {  # PORT: an HTTP/1.0 GET of /marker.txt from HOST_IP:PORT, run in the enclave
  "$PIPELINE" exec web -- sh -c "printf 'GET /marker.txt HTTP/1.0\r\n\r\n' | nc -w 20 $HOST_IP $1" 2>&1
}
egress_diag() {
  echo "routes: $("$PIPELINE" exec web -- ip route show table all 2>&1)"
  echo "nft: $("$PIPELINE" exec web -- nft list ruleset 2>&1)"
  echo "host dialer: $(tail -3 "$STATE"/enclaves/web/pf-proxy.log 2>/dev/null)"
  echo "enclave pf-proxy: $("$PIPELINE" logs web pf-proxy 2>&1 | tail -5)"
}
out=$(get_inside "$ALLOWED") || fail "egress to the allowed server: '$out'; $(egress_diag)"
grep -q "^egress-marker-$$" <<< "$out" && grep -q "^HTTP/1.0 200" <<< "$out" || fail "egress answered '$out'; $(egress_diag)"
out=$(get_inside "$DENIED" || true)
grep -q "HTTP/" <<< "$out" && fail "egress to a port the policy does not allow was answered: $out"
grep -q "GET" "$TMP/www2.log" && fail "the denied server saw a request: $(cat "$TMP/www2.log")"
grep -q "GET /marker.txt" "$TMP/www.log" || fail "the allowed server logged no request"
grep -q "connection denied by policy.*$HOST_IP:$DENIED" "$STATE"/enclaves/web/pf-proxy.log || fail "the host dialer logged no denial"
pass "transparent egress: nc in the enclave reached $HOST_IP:$ALLOWED through pf-proxy; :$DENIED refused by the host policy"

# ---- secret put ----------------------------------------------------------------
secret="s3cr3t-$(head -c 12 /dev/urandom | xxd -p)"
printf '%s' "$secret" | "$PIPELINE" secret put web db-password - > "$TMP/secret.out" 2>&1 || fail "secret put: $(cat "$TMP/secret.out")"
[ "$("$PIPELINE" exec web -- cat /run/secrets/db-password)" = "$secret" ] || fail "the secret did not arrive intact"
mode=$("$PIPELINE" exec web -- ls -l /run/secrets/db-password)
[ "${mode:0:10}" = "-r--------" ] || fail "the secret's mode is not 0400: $mode"
if grep -rqaF -- "$secret" "$STATE" "$TMP/registry" 2>/dev/null; then fail "the secret is in clear under the host's state directory"; fi
"$PIPELINE" logs web ef-agent 2>&1 | grep -qF -- "$secret" && fail "the secret is in the agent's log"
pass "secret put: delivered intact as a 0400 file, in clear neither on the host's disk nor in the agent's log"

# ---- cp 64 MiB in and out -----------------------------------------------------
head -c 64M /dev/urandom > "$TMP/big"
t0=$(date +%s.%N); "$PIPELINE" cp "$TMP/big" web:/tmp/big || fail "cp in"; t1=$(date +%s.%N)
inside=$("$PIPELINE" exec web -- sha256sum /tmp/big | cut -d' ' -f1)
"$PIPELINE" cp web:/tmp/big "$TMP/big.out" || fail "cp out"; t2=$(date +%s.%N)
want=$(sha256sum < "$TMP/big" | cut -d' ' -f1)
[ "$inside" = "$want" ] || fail "sha256 in the enclave $inside, host $want"
[ "$(sha256sum < "$TMP/big.out" | cut -d' ' -f1)" = "$want" ] || fail "copied-out file differs"
pass "cp 64 MiB in ($(python3 -c "print(round(64/($t1-$t0),1))") MiB/s) and out ($(python3 -c "print(round(64/($t2-$t1),1))") MiB/s), sha256 equal inside and out"
rm -f "$TMP/big" "$TMP/big.out"

# ---- logs -f ------------------------------------------------------------------
"$PIPELINE" logs -f web ef-agent > "$TMP/follow.log" 2>&1 &
follow=$!
for _ in $(seq 100); do [ -s "$TMP/follow.log" ] && break; sleep 0.1; done
"$PIPELINE" exec web -- echo follow-marker-4711 >/dev/null
for _ in $(seq 150); do grep -q 'follow-marker-4711\|"argv0":"echo"' "$TMP/follow.log" && break; sleep 0.1; done
kill "$follow" 2>/dev/null; wait "$follow" 2>/dev/null || true
grep -q '"argv0":"echo"' "$TMP/follow.log" || fail "logs -f did not show the later exec: $(tail -3 "$TMP/follow.log")"
pass "logs -f ef-agent followed a line written after it started"

# ---- refusals before any request ----------------------------------------------
python3 - "$TMP/out/default.pcrs.json" > "$TMP/wrong.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); v = d["PCR0"]
d["PCR0"] = ("1" if v[0] == "0" else "0") + v[1:]   # one nibble off
print(json.dumps(d))
PY
expect_fail "PCR0 mismatch" "$PIPELINE" exec --expect-pcrs "$TMP/wrong.json" web -- touch /tmp/refused-pcr
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/other.key" 2>/dev/null
chmod 600 "$TMP/other.key"
expect_fail "not listed" "$PIPELINE" exec --key "$TMP/other.key" web -- touch /tmp/refused-key
expect_fail "not listed" "$PIPELINE" cp --key "$TMP/other.key" "$TMP/describe.json" web:/tmp/refused-cp
# The agent's own log: no request from another operator key and no `touch`
# ran (a request is logged as it arrives, before it is carried out).
"$PIPELINE" logs web ef-agent > "$TMP/agent.log" 2>&1 || fail "logs ef-agent"
grep '"msg":"request"' "$TMP/agent.log" | grep -v '"operator":"sha256:d90a35f14c4568b2b7ffa2e8bce99d9b755150e4aa6f640cf107a1e97a97e74a"' &&
  fail "the agent logged a request from a key other than the listed dev key"
grep -q '"argv0":"touch"' "$TMP/agent.log" && fail "a refused exec reached the agent"
"$PIPELINE" exec web -- sh -c '! ls /tmp/refused-pcr /tmp/refused-key /tmp/refused-cp 2>/dev/null' ||
  fail "a refused command ran"
pass "wrong PCR0 refused by the host, unlisted operator key refused by the agent; no request reached it"

# ---- enclaved restart: re-attach -----------------------------------------------
qemu_pid=$("$PIPELINE" inspect web | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["handle"]["pid"])')
kill -TERM "$(enclaved_pid)"
for _ in $(seq 100); do [ -z "$(enclaved_pid)" ] && break; sleep 0.1; done
[ -z "$(enclaved_pid)" ] || fail "enclaved did not stop"
kill -0 "$qemu_pid" || fail "QEMU died with enclaved"
start_enclaved
"$PIPELINE" ps | grep -E '^web +running' >/dev/null || fail "after the restart: $("$PIPELINE" ps)"
[ "$("$PIPELINE" exec web -- echo again)" = again ] || fail "exec after the re-attach"
[ "$("$PIPELINE" inspect web | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["handle"]["pid"])')" = "$qemu_pid" ] ||
  fail "re-attach changed the QEMU process"
pass "enclaved restarted: web re-attached (same QEMU pid $qemu_pid), exec works"

# ---- QEMU killed: restart policy and event --------------------------------------
kill -9 "$qemu_pid"
for _ in $(seq 600); do
  "$PIPELINE" events --json 2>/dev/null | grep -q '"restarted"' && break; sleep 0.1
done
"$PIPELINE" events --json | grep -q '"restarted"' || fail "no restarted event: $("$PIPELINE" events | tail -5)"
new_pid=""
for _ in $(seq 1200); do
  new_pid=$("$PIPELINE" inspect web | python3 -c '
import json,sys; r=json.load(sys.stdin)[0]; print(r["handle"]["pid"] if r["status"]=="running" and r["health"]=="healthy" else "")')
  [ -n "$new_pid" ] && [ "$new_pid" != "$qemu_pid" ] && break; sleep 0.2
done
[ -n "$new_pid" ] && [ "$new_pid" != "$qemu_pid" ] || fail "web not back: $("$PIPELINE" ps)"
[ "$("$PIPELINE" exec web -- echo back)" = back ] || fail "exec after the restart"
pass "QEMU killed: restart policy 'always' relaunched web (pid $qemu_pid → $new_pid), event 'restarted', exec works"

# ---- the README's local-mode command, as written --------------------------------
# pipeline starts its own enclaved there (socket, state dir and port moved into $TMP).
readme_cmd=$(grep -F 'pipeline run out/default.eif --backend local' README.md | head -1)
[ -n "$readme_cmd" ] || fail "README.md has no local-mode 'pipeline run' command"
RPORT=$(free_port)
cmd=${readme_cmd//8443:8443/$RPORT:8443}
cmd=${cmd//127.0.0.1:8443/127.0.0.1:$RPORT}
cmd=${cmd//build\//$BUILD/}
cmd=${cmd//out\/default.eif/$eif}
ENCLAVED_SOCKET="$TMP/r.sock" ENCLAVED_STATE_DIR="$TMP/rstate" timeout 240 bash -c "$cmd" > "$TMP/readme.out" 2>&1 ||
  fail "README command failed: $cmd: $(cat "$TMP/readme.out")"
grep -q "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Measurements"]["PCR0"])' "$TMP/describe.json")" \
  "$TMP/readme.out" || fail "README command's curl did not print PCR0: $(cat "$TMP/readme.out")"
pass "README command: $readme_cmd"
ENCLAVED_SOCKET="$TMP/r.sock" "$PIPELINE" rm -f default >/dev/null || fail "rm the README's enclave"
rpid=$(pgrep -f -- "--socket $TMP/r.sock" | head -1)
[ -n "$rpid" ] && kill -TERM "$rpid"

# ---- down: nothing left ------------------------------------------------------------
"$PIPELINE" down -f "$TMP/c/enclaves.yaml" >/dev/null || fail "down"
kill -TERM "$(enclaved_pid)"
for _ in $(seq 100); do [ -z "$(ours)" ] && break; sleep 0.1; done
left=$(ours)
[ -z "$left" ] || fail "left running: $(ps -o pid,args -p "$(echo $left | tr ' ' ,)")"
pgrep -af 'qemu-system|ef-vsock-bridge|pf-proxy' | grep -F -- "$TMP" && fail "a qemu/bridge/pf-proxy of this test still runs"
[ ! -e "$ENCLAVED_SOCKET" ] || fail "API socket left: $ENCLAVED_SOCKET"
stray=$(find "$STATE" -mindepth 1 -not -name 'state.db*' -not -name enclaved.log -not -name enclaves | head -5)
[ -z "$stray" ] || fail "state left behind: $stray"
[ -z "$(ls -A "$TMP/registry" 2>/dev/null)" ] || fail "CID registry entries left: $(ls "$TMP/registry")"
pass "down + enclaved stop: no qemu-system, ef-vsock-bridge or pf-proxy, no socket, no enclave files, no CID entry"
