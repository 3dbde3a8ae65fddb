#!/usr/bin/env bash
# enclaved's TCP API with mutual TLS 1.3, checked with openssl-made
# certificates and curl as the client: a client certificate from the CA is
# served, none or one from another CA is refused, TLS 1.2 is refused, and
# /connect (descriptor passing) is unix-socket only.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$BUILD" && pwd)
cd "$TMP"
mkca() {  # NAME: self-signed CA
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 2 -subj "/CN=$1" 2>/dev/null
}
mkleaf() {  # NAME CA SAN
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}
mkca ca; mkca other
mkleaf server ca IP:127.0.0.1
mkleaf client ca DNS:client
mkleaf intruder other DNS:intruder
PORT=$((20000 + RANDOM % 20000))
"$BUILD/engine/enclaved" --state-dir "$TMP/state" --socket "$TMP/api.sock" --backend fake \
  --fake-enclave "$BUILD/engine/ef-fake-enclave" --pf-proxy "$BUILD/netproxy/pf-proxy" \
  --tcp "127.0.0.1:$PORT" --tls-cert server.pem --tls-key server.key --tls-client-ca ca.pem >"$TMP/d.log" 2>&1 &
D=$!
trap 'kill $D 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q "enclaved ready" "$TMP/d.log" && break; sleep 0.05; done
grep -q "enclaved ready" "$TMP/d.log" || { cat "$TMP/d.log"; fail "enclaved did not start"; }
URL="https://127.0.0.1:$PORT"
out=$(curl -fsS --cacert ca.pem --cert client.pem --key client.key "$URL/v1/version") || fail "mTLS request"
grep -q '"api":"v1"' <<<"$out" || fail "version over mTLS: $out"
out=$(curl -fsS --cacert ca.pem --cert client.pem --key client.key "$URL/v1/enclaves") || fail "list over mTLS"
grep -q '"enclaves":\[\]' <<<"$out" || fail "list: $out"
pass "client certificate from the CA: served"
curl -fsS --cacert ca.pem "$URL/v1/version" >/dev/null 2>&1 && fail "served a client without a certificate"
curl -fsS --cacert ca.pem --cert intruder.pem --key intruder.key "$URL/v1/version" >/dev/null 2>&1 && fail "served a certificate from another CA"
curl -fsS --cacert ca.pem --cert client.pem --key client.key --tls-max 1.2 "$URL/v1/version" >/dev/null 2>&1 && fail "served TLS 1.2"
pass "no certificate, a foreign CA, TLS 1.2: refused"
code=$(curl -sS -o "$TMP/c.out" -w '%{http_code}' -X POST --cacert ca.pem --cert client.pem --key client.key "$URL/v1/enclaves/x/connect?port=1")
[ "$code" = 400 ] && grep -q "unix socket only" "$TMP/c.out" || fail "connect over TCP: $code $(cat "$TMP/c.out")"
pass "/connect refused over TCP"
expect_fail "needs --tls-cert" "$BUILD/engine/enclaved" --state-dir "$TMP/s2" --socket "$TMP/s2.sock" --backend fake \
  --fake-enclave "$BUILD/engine/ef-fake-enclave" --tcp 127.0.0.1:0
echo "all mTLS checks passed"
