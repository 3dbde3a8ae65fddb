#!/usr/bin/env bash
# rbuild verify --policy, driven through ci/rbuild-verify (the command the GitHub
# action and the GitLab template run): a policy that holds passes; each rule,
# broken once, fails with its name and file:line and a non-zero exit; --vsa
# writes an SLSA VSA saying PASSED or FAILED; a malformed policy names file:line:key.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
ws="$TMP/ws"; mkdir -p "$ws/specs/in"
head -c 4000 /dev/urandom > "$ws/specs/in/kernel"
head -c 100 /dev/urandom > "$ws/specs/in/init"
( umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/key.pem" )
openssl req -new -x509 -key "$TMP/key.pem" -subj "/CN=trusted" -days 30 -out "$TMP/cert.pem" 2>/dev/null
( umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/other.pem" )
openssl req -new -x509 -key "$TMP/other.pem" -subj "/CN=someone else" -days 30 -out "$TMP/other-cert.pem" 2>/dev/null
cat > "$ws/specs/s.yaml" <<YAML
name: s
version: "1"
source_date_epoch: 1000
kernel: {path: in/kernel}
init: in/init
cmd: ["/bin/true"]
signing: {certificate: $TMP/cert.pem, key: $TMP/key.pem}
YAML
cd "$ws"
printf '/out/\n/lockfiles/\n' > .gitignore
git init -q -b main . && git add -A &&
  GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' git -c user.name=t -c user.email=t@t commit -q -m init
commit=$(git rev-parse HEAD)
"$RBUILD" lock specs/s.yaml >/dev/null
"$RBUILD" build specs/s.yaml -o out --cache "$TMP/cache" >/dev/null
now=$((1767225600 + 86400))   # a day after the commit
key_sha=$(openssl x509 -in "$TMP/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
cert_sha=$(openssl x509 -in "$TMP/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)

good() {
cat <<YAML
signers:
  - certificate: $TMP/other-cert.pem
  - certificate: $TMP/cert.pem
builder_id_prefix: https://github.com/enclave-framework/rbuild@
source:
  repository: file://$ws
  commits: [${commit:0:12}]
  branches: [main]
  clean: true
pcrs_file: $ws/out/s.pcrs.json
max_age: 7d
YAML
}
verify() {  # verify POLICY-FILE [VSA]: runs the CI wrapper, prints the report
  IMAGE=out/s.eif POLICY=$1 VSA=${2:-} REPORT="$TMP/report.json" RBUILD="$RBUILD" \
    "$SRC/ci/rbuild-verify" 2>"$TMP/stderr" >/dev/null
}
good > "$TMP/good.yaml"
"$RBUILD" verify out/s.eif --policy "$TMP/good.yaml" --now $now --json > "$TMP/good.json" || fail "good policy fails: $(cat "$TMP/good.json")"
for rule in signers builder_id_prefix source.repository source.commits source.branches source.clean pcrs max_age; do
  grep -q "\"check\": \"policy.$rule\"" "$TMP/good.json" || fail "rule $rule not evaluated: $(cat "$TMP/good.json")"
done
$PY - "$TMP/good.json" <<'PY' || fail "good policy: not every check ok"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] is True and all(c["ok"] for c in r["checks"]), r
PY
pass "a policy naming every rule passes (signers, builder, source repository/commit/branch/clean, pcrs_file, max_age)"

# Through the CI wrapper with a VSA: PASSED (max_age wide enough for the real clock).
good | sed 's/max_age: 7d/max_age: 36500d/' > "$TMP/good-now.yaml"
verify "$TMP/good-now.yaml" "$TMP/vsa.json" || fail "ci/rbuild-verify fails a good policy: $(cat "$TMP/stderr")"
$PY - "$TMP/vsa.json" "$(sha256sum out/s.eif | cut -d' ' -f1)" "$(sha256sum "$TMP/good-now.yaml" | cut -d' ' -f1)" <<'PY' || fail "VSA wrong: $(cat "$TMP/vsa.json")"
import json, sys, re
v = json.load(open(sys.argv[1]))
assert v["_type"] == "https://in-toto.io/Statement/v1"
assert v["predicateType"] == "https://slsa.dev/verification_summary/v1"
assert v["subject"][0]["digest"]["sha256"] == sys.argv[2]
p = v["predicate"]
assert p["verificationResult"] == "PASSED" and p["verifiedLevels"] == ["SLSA_BUILD_LEVEL_1"]
assert p["policy"]["digest"]["sha256"] == sys.argv[3]
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["timeVerified"])
assert p["inputAttestations"][0]["uri"].startswith("file:")
for k in ("verifier", "resourceUri", "slsaVersion"): assert k in p
PY
pass "ci/rbuild-verify passes it and writes a PASSED SLSA VSA naming image, policy and provenance digests"

# Each rule broken once: exit non-zero, the rule named with its file:line.
broken() {  # broken RULE SED-EXPRESSION
  local rule=$1 f="$TMP/bad-$1.yaml"
  good | sed "$2" > "$f"
  local rc=0
  "$RBUILD" verify out/s.eif --policy "$f" --now $now > "$TMP/out.txt" || rc=$?
  [ $rc -ne 0 ] || fail "policy breaking $rule passed"
  grep -qE "^policy\.$rule +FAIL +rule $rule \($f:[0-9]+\)" "$TMP/out.txt" || fail "no failure naming $rule: $(cat "$TMP/out.txt")"
  [ "$(grep -c FAIL "$TMP/out.txt")" -eq 1 ] || fail "breaking $rule failed other checks too: $(cat "$TMP/out.txt")"
}
broken signers "/certificate: .*\/cert.pem/d"
broken builder_id_prefix "s|enclave-framework/rbuild@|someone/else@|"
broken source.repository "s|repository: .*|repository: https://github.com/other/repo|"
broken source.commits "s|commits: .*|commits: [0000000]|"
broken source.branches "s|branches: .*|branches: [release]|"
broken pcrs "s|^pcrs_file: .*|pcrs: {PCR0: $(printf '0%.0s' {1..96})}|"
broken max_age "s|max_age: 7d|max_age: 1h|"
echo dirty >> specs/in/init.txt   # an untracked file: the checkout is no longer clean
"$RBUILD" build specs/s.yaml -o out-dirty --cache "$TMP/cache" >/dev/null
rm specs/in/init.txt
good | sed "s|$ws/out/s.pcrs.json|$ws/out-dirty/s.pcrs.json|" > "$TMP/bad-clean.yaml"
expect_fail "policy.source.clean +FAIL +rule source.clean \($TMP/bad-clean.yaml:[0-9]+\): built from a checkout with uncommitted changes" \
  "$RBUILD" verify out-dirty/s.eif --policy "$TMP/bad-clean.yaml" --now $now
# Fingerprint forms of the signer rule, and builder_id exactly.
printf 'signers:\n  - public_key_sha256: %s\n' "$key_sha" > "$TMP/fp.yaml"
"$RBUILD" verify out/s.eif --policy "$TMP/fp.yaml" >/dev/null || fail "public key fingerprint not accepted"
printf 'signers:\n  - certificate_sha256: sha256:%s\nbuilder_id: https://github.com/enclave-framework/rbuild@0.0.0\n' "$cert_sha" > "$TMP/fp2.yaml"
expect_fail 'policy.builder_id +FAIL +rule builder_id' "$RBUILD" verify out/s.eif --policy "$TMP/fp2.yaml"
pass "each rule broken once fails alone, named with file:line (signers, builder id, repository, commit, branch, clean, pcrs, max_age)"

# The wrapper on a failing policy: non-zero, FAILED VSA, the failed rule on stderr.
rc=0; verify "$TMP/bad-source.commits.yaml" "$TMP/vsa-bad.json" || rc=$?
[ $rc -ne 0 ] || fail "ci/rbuild-verify passed a failing policy"
grep -q 'policy.source.commits' "$TMP/stderr" || fail "wrapper did not name the failed rule: $(cat "$TMP/stderr")"
grep -q '"verificationResult": "FAILED"' "$TMP/vsa-bad.json" || fail "VSA of a failure is not FAILED"
pass "ci/rbuild-verify on a failing policy: exit $rc, the rule on stderr, a FAILED VSA"

# The templates themselves, run as their CI would (inputs/variables → ci/rbuild-verify).
T="$SRC/tests/provenance"
$PY "$T/run_ci_template.py" github "$SRC/.github/actions/rbuild-verify/action.yml" image=out/s.eif \
  policy="$TMP/good-now.yaml" vsa="$TMP/gh-vsa.json" report="$TMP/gh.json" rbuild="$RBUILD" 2>"$TMP/gh.err" ||
  fail "GitHub action fails a good policy: $(cat "$TMP/gh.err")"
grep -q '"verificationResult": "PASSED"' "$TMP/gh-vsa.json" || fail "GitHub action wrote no PASSED VSA"
rc=0; $PY "$T/run_ci_template.py" github "$SRC/.github/actions/rbuild-verify/action.yml" image=out/s.eif \
  policy="$TMP/bad-pcrs.yaml" report="$TMP/gh-bad.json" rbuild="$RBUILD" 2>"$TMP/gh.err" || rc=$?
[ $rc -ne 0 ] && grep -q policy.pcrs "$TMP/gh.err" || fail "GitHub action passed a failing policy (rc $rc): $(cat "$TMP/gh.err")"
ln -s "$SRC" .rbuild   # the template clones rbuild into .rbuild unless it is there
$PY "$T/run_ci_template.py" gitlab "$SRC/ci/gitlab/rbuild-verify.gitlab-ci.yml" RBUILD_VERIFY_IMAGE=out/s.eif \
  RBUILD_VERIFY_POLICY="$TMP/good-now.yaml" RBUILD_VERIFY_VSA="$TMP/gl-vsa.json" RBUILD_VERIFY_REPORT="$TMP/gl.json" \
  RBUILD="$RBUILD" 2>"$TMP/gl.err" || fail "GitLab template fails a good policy: $(cat "$TMP/gl.err")"
rc=0; $PY "$T/run_ci_template.py" gitlab "$SRC/ci/gitlab/rbuild-verify.gitlab-ci.yml" RBUILD_VERIFY_IMAGE=out/s.eif \
  RBUILD_VERIFY_POLICY="$TMP/bad-max_age.yaml" RBUILD_VERIFY_REPORT="$TMP/gl-bad.json" RBUILD="$RBUILD" 2>"$TMP/gl.err" || rc=$?
[ $rc -ne 0 ] && grep -q policy.max_age "$TMP/gl.err" || fail "GitLab template passed a failing policy (rc $rc)"
rm .rbuild
pass "the GitHub composite action and the GitLab template, run as CI runs them: pass a good policy, fail a broken one"

# Malformed policies: file:line:key.
printf 'source:\n  clean: true\n  owner: me\n' > "$TMP/unknown.yaml"
expect_fail "$TMP/unknown.yaml:3: source.owner: unknown key" "$RBUILD" verify out/s.eif --policy "$TMP/unknown.yaml"
printf 'max_age: forever\n' > "$TMP/age.yaml"
expect_fail "$TMP/age.yaml:1: max_age: expected a duration" "$RBUILD" verify out/s.eif --policy "$TMP/age.yaml"
expect_fail 'needs --policy' "$RBUILD" verify out/s.eif --vsa "$TMP/x.json"
pass "malformed policies name file:line:key"
