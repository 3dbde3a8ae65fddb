#!/usr/bin/env bash
# ra-web-srv end to end: the real (static) binary on loopback with the simulated
# NSM; every check uses an independent tool (curl, openssl, python3, rbuild
# verify-attestation, websrv_vrf_verify) for its expected values.
source "$(dirname "$0")/lib.sh" "$@"
SRV="$BUILD/attest/websrv/ra-web-srv"
VRF_VERIFY="$BUILD/tests/integration/websrv_vrf_verify"
[ -x "$SRV" ] || fail "ra-web-srv not built"
[ -x "$VRF_VERIFY" ] || fail "websrv_vrf_verify not built"
if [ -x "$RBUILD" ]; then VERIFY=("$RBUILD" verify-attestation)
elif [ -x "$BUILD/attest/attest-tool" ]; then VERIFY=("$BUILD/attest/attest-tool" verify-attestation)
else fail "neither rbuild nor attest-tool is built (needed to verify documents)"; fi
for t in curl openssl python3; do command -v $t >/dev/null || fail "$t is needed"; done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); RPORT=$(free_port)
B="https://127.0.0.1:$PORT"
mkdir -p "$TMP/sim" && chmod 700 "$TMP/sim"
# Boot PCRs of a pretend image: PCR0 = SHA-384("image"), by openssl.
PCR0=$(printf image | openssl dgst -sha384 -r | cut -d' ' -f1)
printf '{"HashAlgorithm":"Sha384 { ... }","PCR0":"%s","PCR1":"%s","PCR2":"%s"}' "$PCR0" "$PCR0" "$PCR0" > "$TMP/sim/pcrs.json"
cat > "$TMP/cfg.yaml" <<YAML
listen:
  tcp: 127.0.0.1:$PORT
  redirect: 127.0.0.1:$RPORT
nsm:
  mode: simulated
  state_dir: $TMP/sim
files:
  socket: $TMP/run/files.sock
vrf:
  key_file: $TMP/vrf/vrf.key
limits:
  io_threads: 2
  max_header_bytes: 4096
  max_body_bytes: 16384
  header_timeout_ms: 1500
  idle_timeout_ms: 3000
YAML
"$SRV" check-config "$TMP/cfg.yaml" > /dev/null || fail "check-config rejected a good config"
printf 'listen:\n  tcp: 127.0.0.1:1\n  bogus: 1\n' > "$TMP/bad.yaml"
expect_fail "bad.yaml:3.*unknown key" "$SRV" check-config "$TMP/bad.yaml"

"$SRV" --config "$TMP/cfg.yaml" > "$TMP/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do curl -skf "$B/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -skf "$B/healthz" | grep -q '"ok"' || { cat "$TMP/log"; fail "server did not come up"; }
grep -q "SIMULATED\|simulated" "$TMP/log" || fail "no simulated-NSM line in the start log"
pass "server up on $PORT (simulated NSM)"
# The start log carries the effective config and no key material.
grep -q '"max_body_bytes":16384' "$TMP/log" || fail "effective config not logged"
grep -qi "PRIVATE KEY" "$TMP/log" && fail "a private key reached the log"
[ "$(stat -c %a "$TMP/vrf/vrf.key")" = 600 ] || fail "VRF key not 0600"
[ "$(stat -c %a "$TMP/vrf")" = 700 ] || fail "VRF key dir not 0700"
[ "$(stat -c %a "$TMP/run/files.sock")" = 600 ] || fail "file-index socket not 0600"
[ "$(stat -c %a "$TMP/run")" = 700 ] || fail "file-index socket dir not 0700"
pass "key, socket and directory modes"

# --- TLS: 1.3 accepted, 1.2 refused (min_version 1.3) ---
out=$(openssl s_client -connect 127.0.0.1:$PORT -tls1_3 </dev/null 2>&1) || true
grep -q "TLSv1.3" <<<"$out" || fail "no TLS 1.3 handshake: $out"
if openssl s_client -connect 127.0.0.1:$PORT -tls1_2 </dev/null >/dev/null 2>&1; then fail "TLS 1.2 accepted"; fi
pass "TLS 1.3 only"

# --- PCRs ---
curl -skf "$B/v1/pcrs" > "$TMP/pcrs.json"
python3 - "$TMP/pcrs.json" "$PCR0" <<'PY' || fail "PCRs wrong"
import json, sys
j = json.load(open(sys.argv[1]))
p = {e["index"]: e for e in j["pcrs"]}
assert j["digest"] == "SHA384" and len(p) == 16, j
assert p[0]["value"] == sys.argv[2] and p[0]["locked"], p[0]
assert p[3]["value"] == "0" * 96
PY
pass "/v1/pcrs matches the image's pcrs.json"

# --- attestation bound to a nonce, verified by the CLI against the dev root ---
NONCE=$(openssl rand -hex 32)
curl -skf "$B/v1/attestation?nonce=$NONCE&user_data=aGVsbG8%3D" > "$TMP/att.json"
python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["document"]))' "$TMP/att.json" > "$TMP/doc.cbor"
ROOT="$TMP/sim/ca/dev-root.pem"
"${VERIFY[@]}" --root "$ROOT" --nonce "$NONCE" --user-data 68656c6c6f "$TMP/doc.cbor" > "$TMP/verify.out" || { cat "$TMP/verify.out"; fail "document did not verify"; }
expect_fail "nonce" "${VERIFY[@]}" --root "$ROOT" --nonce "00$NONCE" "$TMP/doc.cbor"
expect_fail "root" "${VERIFY[@]}" "$TMP/doc.cbor"   # the AWS root must not accept a dev document
# CBOR: the raw COSE_Sign1 bytes.
curl -skf -H 'Accept: application/cbor' "$B/v1/attestation?nonce=abcd" -o "$TMP/raw.cbor" -D "$TMP/raw.h"
grep -qi "content-type: application/cbor" "$TMP/raw.h" || fail "CBOR content type"
"${VERIFY[@]}" --root "$ROOT" --nonce abcd "$TMP/raw.cbor" > /dev/null || fail "raw CBOR document did not verify"
pass "nonce-bound documents verify with ${VERIFY[*]}"

# --- RA-TLS: the served certificate's key is the document's public_key ---
openssl s_client -connect 127.0.0.1:$PORT -tls1_3 </dev/null 2>/dev/null | openssl x509 > "$TMP/served.pem"
SPKI=$(openssl x509 -in "$TMP/served.pem" -pubkey -noout | openssl pkey -pubin -outform DER | od -An -v -tx1 | tr -d ' \n')
[ -n "$SPKI" ] || fail "could not read the served certificate's key"
"${VERIFY[@]}" --root "$ROOT" --nonce "$NONCE" --public-key "$SPKI" "$TMP/doc.cbor" > /dev/null || fail "RA-TLS: document public_key is not the served TLS key"
openssl x509 -in "$TMP/served.pem" -noout -text | grep -q "ASN1 OID: secp384r1" || fail "TLS key is not P-384"
pass "RA-TLS binding (served cert SPKI == document public_key)"

# --- file index over the unix socket ---
printf 'hello' > "$TMP/f1"; printf 'world' > "$TMP/f2"
H1=$(openssl dgst -sha3-512 -r "$TMP/f1" | cut -d' ' -f1)
H2=$(openssl dgst -sha3-512 -r "$TMP/f2" | cut -d' ' -f1)
feed() {  # feed LINES...: one connection, then close
  python3 - "$TMP/run/files.sock" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall("".join(l + "\n" for l in sys.argv[2:]).encode()); s.close()
PY
  sleep 0.3
}
feed '{"op":"snapshot_begin"}' \
     "{\"op\":\"put\",\"path\":\"/app/f1\",\"kind\":\"file\",\"sha3_512\":\"$H1\",\"size\":5}" \
     "{\"op\":\"put\",\"path\":\"/app/dir/f2\",\"kind\":\"file\",\"sha3_512\":\"$H2\",\"size\":5}" \
     "{\"op\":\"put\",\"path\":\"/app/with space\",\"kind\":\"file\",\"sha3_512\":\"$H2\",\"size\":5}" \
     '{"op":"snapshot_end"}'
[ "$(curl -skf "$B/v1/files/hash?path=/app/f1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha3_512"])')" = "$H1" ] || fail "hash of /app/f1"
[ "$(curl -skf "$B/v1/files/hash?path=/app/with%20space" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')" = 5 ] || fail "percent-decoded path"
n=$(curl -skf "$B/v1/files?prefix=/app/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
[ "$n" = 3 ] || fail "listing count $n"
curl -sk -D - -o /dev/null "$B/v1/files" | grep -qi "transfer-encoding: chunked" || fail "listing not chunked"
# Staging: puts inside an unfinished snapshot stay invisible.
feed '{"op":"snapshot_begin"}' "{\"op\":\"put\",\"path\":\"/staged\",\"kind\":\"file\",\"sha3_512\":\"$H1\",\"size\":5}"
[ "$(curl -sk -o /dev/null -w '%{http_code}' "$B/v1/files/hash?path=/staged")" = 404 ] || fail "unfinished snapshot leaked"
[ "$(curl -sk -o /dev/null -w '%{http_code}' "$B/v1/files/hash?path=/app/f1")" = 200 ] || fail "unfinished snapshot replaced the index"
feed '{"op":"del","path":"/app/dir"}'
[ "$(curl -sk -o /dev/null -w '%{http_code}' "$B/v1/files/hash?path=/app/dir/f2")" = 404 ] || fail "del of a dir"
# A large set: 3000 entries in one snapshot, streamed back in several chunks.
python3 - "$TMP/run/files.sock" "$H1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
lines = [{"op": "snapshot_begin"}]
lines += [{"op": "put", "path": f"/bulk/{i:05d}", "kind": "file", "sha3_512": sys.argv[2], "size": i} for i in range(3000)]
lines += [{"op": "put", "path": "/app/f1", "kind": "file", "sha3_512": sys.argv[2], "size": 5},
          {"op": "put", "path": "/app/with space", "kind": "file", "sha3_512": sys.argv[2], "size": 5},
          {"op": "snapshot_end"}]
s.sendall("".join(json.dumps(l) + "\n" for l in lines).encode()); s.close()
PY
sleep 0.5
curl -skf "$B/v1/files?prefix=/bulk/" | python3 -c '
import json, sys
j = json.load(sys.stdin)
paths = [f["path"] for f in j["files"]]
assert j["count"] == 3000 and paths == [f"/bulk/{i:05d}" for i in range(3000)], (j["count"], paths[:3])
' || fail "large listing"
feed '{"op":"snapshot_begin"}' \
     "{\"op\":\"put\",\"path\":\"/app/f1\",\"kind\":\"file\",\"sha3_512\":\"$H1\",\"size\":5}" \
     "{\"op\":\"put\",\"path\":\"/app/with space\",\"kind\":\"file\",\"sha3_512\":\"$H2\",\"size\":5}" \
     '{"op":"snapshot_end"}'
feed '{"op":"put","path":"/x"' 'garbage'
grep -q "malformed line.*offset" "$TMP/log" || fail "malformed line not logged with its offset"
pass "file index: snapshot, staging, del, 3000-entry chunked listing, malformed line"

# --- proofs: server verify and an independent verify ---
curl -skf "$B/v1/files/proof?path=/app/f1" > "$TMP/proof.json"
read -r PK PROOF < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["vrf_public_key"], j["proof"])' "$TMP/proof.json")
"$VRF_VERIFY" "$PK" /app/f1 "$H1" "$PROOF" > /dev/null || fail "independent ECVRF verify"
if "$VRF_VERIFY" "$PK" /app/f2 "$H1" "$PROOF" > /dev/null; then fail "proof verified for another path"; fi
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "{\"path\":\"/app/f1\",\"sha3_512\":\"$H1\",\"proof\":\"$PROOF\"}" "$B/v1/verify/proof")
[ "$code" = 200 ] || fail "POST /v1/verify/proof: $code"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "{\"path\":\"/app/f1\",\"sha3_512\":\"$H2\",\"proof\":\"$PROOF\"}" "$B/v1/verify/proof")
[ "$code" = 422 ] || fail "tampered proof: $code"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "{\"path\":\"/app/f1\",\"sha3_512\":\"$H1\"}" "$B/v1/verify/hash")
[ "$code" = 200 ] || fail "POST /v1/verify/hash: $code"
curl -skf "$B/v1/files/attestation?path=/app/f1&nonce=$NONCE" > "$TMP/fatt.json"
python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["document"]))' "$TMP/fatt.json" > "$TMP/fdoc.cbor"
# user_data = SHA-512("ef-file-attestation-v1" 00 path 00 hash pk proof), computed here by python.
UD=$(python3 - "$H1" "$PK" "$PROOF" <<'PY'
import hashlib, sys
h, pk, pi = (bytes.fromhex(x) for x in sys.argv[1:])
print(hashlib.sha512(b"ef-file-attestation-v1\0/app/f1\0" + h + pk + pi).hexdigest())
PY
)
"${VERIFY[@]}" --root "$ROOT" --nonce "$NONCE" --user-data "$UD" "$TMP/fdoc.cbor" > /dev/null || fail "file attestation user_data binding"
pass "proofs (server and independent), file attestation"

# --- other endpoints ---
curl -skf "$B/v1/nsm" | grep -q '"simulated":true' || fail "/v1/nsm"
[ "$(curl -skf "$B/v1/random?length=100" | python3 -c 'import json,sys; print(len(bytes.fromhex(json.load(sys.stdin)["random"])))')" = 100 ] || fail "/v1/random"
curl -skf "$B/v1/pubkeys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tls"]["spki_pem"])' > "$TMP/tls.pub"
[ "$(openssl pkey -pubin -in "$TMP/tls.pub" -outform DER | od -An -v -tx1 | tr -d ' \n')" = "$SPKI" ] || fail "/v1/pubkeys TLS key"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "{\"pcrs\":{\"0\":\"$PCR0\"}}" "$B/v1/verify/pcrs"); [ "$code" = 200 ] || fail "verify/pcrs $code"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "{\"pcrs\":{\"0\":\"00ff\"}}" "$B/v1/verify/pcrs"); [ "$code" = 400 ] || fail "verify/pcrs bad size $code"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "{\"pcrs\":{\"0\":\"$H1\"}}" "$B/v1/verify/pcrs"); [ "$code" = 422 ] || fail "verify/pcrs mismatch $code"
DOCB64=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["document"])' "$TMP/att.json")
code=$(curl -sk -o "$TMP/v.json" -w '%{http_code}' -X POST --data "{\"document\":\"$DOCB64\",\"nonce\":\"$NONCE\"}" "$B/v1/verify/attestation")
[ "$code" = 200 ] || fail "verify/attestation: $code $(cat "$TMP/v.json")"
code=$(curl -sk -o "$TMP/v.json" -w '%{http_code}' -X POST --data "{\"document\":\"$DOCB64\",\"nonce\":\"00$NONCE\"}" "$B/v1/verify/attestation")
[ "$code" = 422 ] || fail "verify/attestation with the wrong nonce: $code"
grep -q '"valid":false' "$TMP/v.json" || fail "no verdict in $(cat "$TMP/v.json")"
pass "nsm, random, pubkeys, verify/pcrs, verify/attestation"

# --- hostile requests ---
code=$(curl -sk -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 6000 /dev/zero | tr '\0' a)" "$B/healthz" || true)
[ "$code" = 431 ] || [ "$code" = 000 ] || fail "oversized headers: $code"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST --data "$(head -c 20000 /dev/zero | tr '\0' a)" "$B/v1/verify/hash")
[ "$code" = 413 ] || fail "oversized body: $code"
for q in '%zz' '%' 'a%2' ; do
  code=$(curl -sk -o /dev/null -w '%{http_code}' "$B/v1/files/hash?path=$q"); [ "$code" = 400 ] || fail "bad percent-encoding $q: $code"
done
for q in '/app/../etc/passwd' '../../etc/passwd' '%2Fapp%2F..%2F..%2Fetc%2Fpasswd' '/etc//passwd' '/app/f1%00x' '/etc/passwd'; do
  body=$(curl -sk -w ' %{http_code}' "$B/v1/files/hash?path=$q")
  case "$body" in *" 400"|*" 404") ;; *) fail "path traversal $q: $body";; esac
  grep -q "root:" <<<"$body" && fail "file content leaked for $q"
done
python3 -c 'import sys; sys.stdout.buffer.write(b"\x81" * 16000 + b"\x00")' > "$TMP/deep.cbor"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/cbor' --data-binary @"$TMP/deep.cbor" "$B/v1/verify/hash")
[ "$code" = 400 ] || fail "deeply nested CBOR body: $code"
[ "$(curl -sk -o /dev/null -w '%{http_code}' "$B/nope")" = 404 ] || fail "unknown route"
[ "$(curl -sk -o /dev/null -w '%{http_code}' -X PUT "$B/v1/pcrs")" = 405 ] || fail "wrong method"
curl -s "http://127.0.0.1:$PORT/healthz" | grep -q "plain HTTP" || fail "plain HTTP to the TLS port"
loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$RPORT/v1/pcrs?x=1")
[ "$loc" = "301 https://127.0.0.1:$PORT/v1/pcrs?x=1" ] || fail "redirect: $loc"
python3 - "$PORT" <<'PY' || fail "slow client / TLS garbage not dropped"
import os, socket, ssl, sys, time
port = int(sys.argv[1])
def closed_within(sock, seconds):
    sock.settimeout(seconds)
    t = time.time()
    try:
        while sock.recv(4096):
            pass
    except (socket.timeout, TimeoutError):
        return None
    except (ConnectionResetError, ssl.SSLError, OSError):
        pass
    return time.time() - t
# 1. silent client: dropped after the header timeout (1.5 s)
s = socket.create_connection(("127.0.0.1", port)); d = closed_within(s, 6)
assert d is not None and d < 5, f"silent client kept {d}"
# 2. TLS garbage: a handshake record header then junk
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"\x16\x03\x01\x00\x20" + os.urandom(64))
d = closed_within(s, 6); assert d is not None, "TLS garbage kept open"
# 3. slowloris over TLS: one header byte every 0.4 s is dropped at the header timeout
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="x")
start = time.time(); dropped = False
try:
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
        s.send(bytes([b])); time.sleep(0.4)
        if time.time() - start > 8: break
except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
    dropped = True
if not dropped:
    dropped = closed_within(s, 3) is not None
assert dropped and time.time() - start < 8, "slowloris not dropped"
PY
# Many concurrent connections: 1500 silent clients at once, and the server still answers.
python3 - "$PORT" "$B" <<'PY' || fail "1500 concurrent connections"
import resource, socket, subprocess, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(1500)]
out = subprocess.run(["curl", "-skf", sys.argv[2] + "/metrics"], capture_output=True, text=True, timeout=10).stdout
open_conns = [l for l in out.splitlines() if l.startswith("ra_web_srv_connections_open ")]
# (the 1.5 s header timeout may already have closed the first few on a loaded machine)
assert open_conns and int(open_conns[0].split()[1]) >= 1200, open_conns
for s in socks: s.close()
PY
pass "hostile: headers 431, body 413, deep CBOR 400, bad encodings 400, traversal 400/404, slow/garbage clients dropped"

kill -0 $PID || fail "server died"
curl -skf "$B/healthz" | grep -q ok || fail "server no longer answers /healthz"
curl -skf "$B/metrics" > "$TMP/metrics"
grep -q 'ra_web_srv_documents_issued_total [1-9]' "$TMP/metrics" || fail "documents metric"
grep -q 'ra_web_srv_files_tracked 2' "$TMP/metrics" || fail "files metric"
grep -q 'ra_web_srv_requests_total{route="/v1/pcrs",status="200"}' "$TMP/metrics" || fail "request metric"
grep -q 'ra_web_srv_timeouts_total [1-9]' "$TMP/metrics" || fail "timeout metric"
pass "still healthy after the hostile requests; metrics"

kill -TERM $PID; wait $PID || fail "unclean exit on SIGTERM"
grep -q "stopped" "$TMP/log" || fail "no stop line"
pass "clean shutdown"

# --- second instance: mTLS, TLS 1.2 allowed, P-256, generated key written out ---
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/ca.key" -out "$TMP/ca.pem" \
  -days 1 -subj /CN=test-client-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/client.key" -out "$TMP/client.csr" \
  -subj /CN=client 2>/dev/null
openssl x509 -req -in "$TMP/client.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -days 1 \
  -out "$TMP/client.pem" 2>/dev/null
PORT2=$(free_port)
cat > "$TMP/cfg2.yaml" <<YAML
listen:
  tcp: 127.0.0.1:$PORT2
tls:
  min_version: "1.2"
  key_type: P-256
  client_ca: $TMP/ca.pem
  write_dir: $TMP/tls
nsm:
  mode: simulated
  state_dir: $TMP/sim
files:
  socket: ""
YAML
"$SRV" --config "$TMP/cfg2.yaml" > "$TMP/log2" 2>&1 &
PID=$!
B2="https://127.0.0.1:$PORT2"
for _ in $(seq 100); do curl -skf --cert "$TMP/client.pem" --key "$TMP/client.key" "$B2/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -skf --cert "$TMP/client.pem" --key "$TMP/client.key" "$B2/healthz" | grep -q ok || { cat "$TMP/log2"; fail "mTLS client refused"; }
if curl -skf "$B2/healthz" >/dev/null 2>&1; then fail "mTLS: a client without a certificate was served"; fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/rogue.key" -out "$TMP/rogue.pem" \
  -days 1 -subj /CN=rogue 2>/dev/null
if curl -skf --cert "$TMP/rogue.pem" --key "$TMP/rogue.key" "$B2/healthz" >/dev/null 2>&1; then fail "mTLS: a certificate from another CA was served"; fi
out=$(openssl s_client -connect 127.0.0.1:$PORT2 -tls1_2 -cert "$TMP/client.pem" -key "$TMP/client.key" </dev/null 2>&1) || true
grep -q "Protocol *: TLSv1.2" <<<"$out" || fail "TLS 1.2 not accepted with min_version 1.2"
openssl s_client -connect 127.0.0.1:$PORT2 -cert "$TMP/client.pem" -key "$TMP/client.key" </dev/null 2>/dev/null |
  openssl x509 > "$TMP/served2.pem"
openssl x509 -in "$TMP/served2.pem" -noout -text | grep -q "ASN1 OID: prime256v1" || fail "TLS key is not P-256"
[ "$(stat -c %a "$TMP/tls/key.pem")" = 600 ] && [ "$(stat -c %a "$TMP/tls")" = 700 ] || fail "written TLS key modes"
cmp <(openssl pkey -in "$TMP/tls/key.pem" -pubout) <(openssl x509 -in "$TMP/served2.pem" -pubkey -noout) ||
  fail "written key is not the served key"
kill -TERM $PID; wait $PID || fail "unclean exit of the second instance"
pass "mTLS (client CA enforced), TLS 1.2 by option, P-256, key written 0600"
