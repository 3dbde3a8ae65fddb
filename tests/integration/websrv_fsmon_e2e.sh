#!/usr/bin/env bash
# fs-monitor feeding ra-web-srv, end to end on loopback, as the default image
# runs them: real inotify on a temp tree, the real FILE-INDEX socket, TLS checked
# against the certificate the server wrote (curl --cacert, no -k). Expected hashes
# come from `openssl dgst -sha3-512`; proofs are checked by websrv_vrf_verify and
# documents by `rbuild verify-attestation` against the simulated NSM's dev root.
source "$(dirname "$0")/lib.sh" "$@"
SRV="$BUILD/attest/websrv/ra-web-srv"; MON="$BUILD/attest/fsmon/fs-monitor"
VRF_VERIFY="$BUILD/tests/integration/websrv_vrf_verify"
for b in "$SRV" "$MON" "$VRF_VERIFY" "$RBUILD"; do [ -x "$b" ] || fail "$b not built"; done
for t in curl openssl python3; do command -v $t >/dev/null || fail "$t is needed"; done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA="$TMP/data"; mkdir -p "$DATA"
cat > "$TMP/srv.yaml" <<YAML
listen: {tcp: 127.0.0.1:$PORT}
tls: {write_dir: $TMP/tls}
nsm: {mode: simulated, state_dir: $TMP/sim}
files: {socket: $TMP/run/files.sock}
limits: {io_threads: 2}
YAML
cat > "$TMP/mon.yaml" <<YAML
roots: [$DATA]
socket: $TMP/run/files.sock
status_interval_s: 0
YAML
"$SRV" --config "$TMP/srv.yaml" > "$TMP/srv.log" 2>&1 & SRV_PID=$!
trap 'kill $SRV_PID ${MON_PID:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -S "$TMP/run/files.sock" ] && [ -f "$TMP/tls/cert.pem" ] && break; sleep 0.1; done
B="https://ra-web-srv:$PORT"
CURL=(curl -sS --cacert "$TMP/tls/cert.pem" --resolve "ra-web-srv:$PORT:127.0.0.1")
for _ in $(seq 100); do "${CURL[@]}" -f "$B/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
"${CURL[@]}" -f "$B/healthz" >/dev/null || { cat "$TMP/srv.log"; fail "ra-web-srv did not come up"; }

printf 'present before start' > "$DATA/early.txt"
"$MON" --config "$TMP/mon.yaml" > "$TMP/mon.log" 2>&1 & MON_PID=$!

sha3() { openssl dgst -sha3-512 -r "$1" | cut -d' ' -f1; }
served() { "${CURL[@]}" "$B/v1/files/hash?path=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="/"))' "$1")"; }
# wait_hash PATH HEX: the served hash of PATH becomes HEX within 10 s ("" = 404).
wait_hash() {
  local got=""
  for _ in $(seq 200); do
    got=$(served "$1" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j.get("sha3_512",""))')
    [ "$got" = "$2" ] && return 0
    sleep 0.05
  done
  fail "served hash of $1 is '$got', expected '$2'; fs-monitor log: $(tail -5 "$TMP/mon.log")"
}
wait_hash "$DATA/early.txt" "$(sha3 "$DATA/early.txt")"
pass "initial scan reached ra-web-srv"

head -c 3000000 /dev/urandom > "$DATA/model.bin"
wait_hash "$DATA/model.bin" "$(sha3 "$DATA/model.bin")"
printf 'appended' >> "$DATA/model.bin"
wait_hash "$DATA/model.bin" "$(sha3 "$DATA/model.bin")"
mv "$DATA/model.bin" "$DATA/renamed.bin"
wait_hash "$DATA/renamed.bin" "$(sha3 "$DATA/renamed.bin")"
wait_hash "$DATA/model.bin" ""
mkdir -p "$DATA/a/b/c" && printf 'deep' > "$DATA/a/b/c/file with space"
wait_hash "$DATA/a/b/c/file with space" "$(sha3 "$DATA/a/b/c/file with space")"
mv "$DATA/a" "$DATA/moved"
wait_hash "$DATA/moved/b/c/file with space" "$(sha3 "$DATA/moved/b/c/file with space")"
wait_hash "$DATA/a/b/c/file with space" ""
rm "$DATA/renamed.bin"
wait_hash "$DATA/renamed.bin" ""
pass "writes, appends, renames of files and directories, nested new directories, deletes"

# A proof over {path, hash}: verified by the server and independently.
printf 'result of the enclave' > "$DATA/result.txt"
H=$(sha3 "$DATA/result.txt"); wait_hash "$DATA/result.txt" "$H"
"${CURL[@]}" -f "$B/v1/files/proof?path=$DATA/result.txt" > "$TMP/proof.json"
read -r PK PROOF HASH < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["vrf_public_key"], j["proof"], j["sha3_512"])' "$TMP/proof.json")
[ "$HASH" = "$H" ] || fail "proof response carries hash $HASH"
"$VRF_VERIFY" "$PK" "$DATA/result.txt" "$H" "$PROOF" > /dev/null || fail "independent ECVRF verification"
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -X POST \
  --data "{\"path\":\"$DATA/result.txt\",\"sha3_512\":\"$H\",\"proof\":\"$PROOF\"}" "$B/v1/verify/proof")
[ "$code" = 200 ] || fail "POST /v1/verify/proof: $code"
NONCE=$(openssl rand -hex 32)
"${CURL[@]}" -f "$B/v1/files/attestation?path=$DATA/result.txt&nonce=$NONCE" |
  python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["document"]))' > "$TMP/doc.cbor"
UD=$(python3 - "$DATA/result.txt" "$H" "$PK" "$PROOF" <<'PY'
import hashlib, sys
path = sys.argv[1].encode(); h, pk, pi = (bytes.fromhex(x) for x in sys.argv[2:])
print(hashlib.sha512(b"ef-file-attestation-v1\0" + path + b"\0" + h + pk + pi).hexdigest())
PY
)
"$RBUILD" verify-attestation --root "$TMP/sim/ca/dev-root.pem" --nonce "$NONCE" --user-data "$UD" "$TMP/doc.cbor" > /dev/null ||
  fail "file attestation does not verify or does not bind {path, hash, key, proof}"
pass "file proof verified by ra-web-srv and independently; file attestation binds it"

# ra-web-srv restarts: fs-monitor reconnects and sends its whole state again.
kill $SRV_PID; wait $SRV_PID 2>/dev/null || true
"$SRV" --config "$TMP/srv.yaml" > "$TMP/srv2.log" 2>&1 & SRV_PID=$!
for _ in $(seq 100); do "${CURL[@]}" -f "$B/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
wait_hash "$DATA/result.txt" "$H"
pass "after a ra-web-srv restart the index is complete again"
