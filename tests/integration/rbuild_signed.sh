#!/usr/bin/env bash
# A signed image: signature section verifies, PCR8 equals an independent
# computation with openssl, the provenance is a DSSE envelope signed with the
# same key, and an unsigned rebuild matches every other section.
source "$(dirname "$0")/lib.sh"
ws="$TMP/ws"; mkdir -p "$ws/specs/in"
head -c 4000 /dev/urandom > "$ws/specs/in/kernel"
head -c 100 /dev/urandom > "$ws/specs/in/init"
( umask 077 && openssl ecparam -name secp384r1 -genkey -noout -out "$ws/specs/in/key.pem" )
openssl req -new -x509 -key "$ws/specs/in/key.pem" -subj "/CN=rbuild test/O=Enclave Framework" -days 30 \
  -out "$ws/specs/in/cert.pem" 2>/dev/null
cat > "$ws/specs/s.yaml" <<'YAML'
name: s
version: "1"
source_date_epoch: 1000
kernel: {path: in/kernel}
init: in/init
cmd: ["/bin/true"]
signing: {certificate: in/cert.pem, key: in/key.pem}
YAML
cd "$ws"
"$RBUILD" lock specs/s.yaml >/dev/null
"$RBUILD" build specs/s.yaml -o out --cache "$TMP/cache" >/dev/null
desc=$("$RBUILD" describe out/s.eif)
grep -q '"IsSigned": true' <<<"$desc" || fail "not signed: $desc"
grep -q '"SignatureCheck": true' <<<"$desc" || fail "signature check failed: $desc"
# PCR8 = SHA384(48 zero bytes || SHA384(certificate DER)), computed with openssl alone.
cert_hash=$(openssl x509 -in specs/in/cert.pem -outform DER | openssl dgst -sha384 -binary | xxd -p -c 256)
want=$( (head -c 48 /dev/zero; echo -n "$cert_hash" | xxd -r -p) | openssl dgst -sha384 -binary | xxd -p -c 256)
grep -q "\"PCR8\": \"$want\"" <<<"$desc" || fail "PCR8 differs from openssl's $want: $desc"
"$RBUILD" pcr --signing-certificate specs/in/cert.pem | grep -q "$want" || fail "rbuild pcr --signing-certificate"
grep -q '"PCR8": "'"$want"'"' out/s.pcrs.json || fail "pcrs.json lacks PCR8"
pass "signed: signature verifies, PCR8 matches openssl"

grep -q '"payloadType": "application/vnd.in-toto+json"' out/s.provenance.json || fail "provenance is not a DSSE envelope"
"$RBUILD" verify out/s.eif --rebuild --cache "$TMP/cache" > "$TMP/v.txt" || fail "verify: $(cat "$TMP/v.txt")"
grep -q 'provenance.signature *ok' "$TMP/v.txt" || fail "envelope not verified: $(cat "$TMP/v.txt")"
grep -q 'rebuild *ok' "$TMP/v.txt" || fail "unsigned rebuild did not match: $(cat "$TMP/v.txt")"
pass "DSSE provenance verified; unsigned rebuild matches every section but the signature"

# Tampering with the envelope's payload breaks its signature.
sed -i 's/"payload": "\(.\)/"payload": "A\1/' out/s.provenance.json
expect_fail 'provenance.signature +FAIL|provenance +FAIL' "$RBUILD" verify out/s.eif
# A key readable by others is refused.
chmod 644 specs/in/key.pem
expect_fail 'chmod 600' "$RBUILD" build specs/s.yaml -o out2 --cache "$TMP/cache"
pass "tampered envelope and loose key refused"
