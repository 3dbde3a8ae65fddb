#!/usr/bin/env bash
# rbuild reproduce across checkouts: clone this repository to one path, build
# the runtimes and the default image there; from a second clone at another path
# and at another commit, `rbuild reproduce` the first image's provenance: it
# checks out the recorded commit into a temporary worktree, finds the machine's
# packages at the recorded versions, builds the runtimes, and rebuilds an EIF
# identical byte for byte. Slow (two full runtime builds).
source "$(dirname "$0")/lib.sh"
command -v git >/dev/null && command -v cmake >/dev/null || fail "needs git and cmake"
git -C "$SRC" rev-parse HEAD >/dev/null 2>&1 || fail "$SRC is not a git checkout"
export CCACHE_BASEDIR=/tmp
a="$TMP/first/clone"; b="$TMP/somewhere/else/clone"
git clone -q "$SRC" "$a"
cmake -S "$a" -B "$a/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$a/build" -j2 --target init pf-proxy ra-web-srv fs-monitor ef-agent >"$TMP/build-a.log" 2>&1 ||
  fail "building the runtimes in $a: $(tail -20 "$TMP/build-a.log")"
(cd "$a" && "$RBUILD" lock specs/default.yaml -o "$TMP/a.lock.json" >/dev/null &&
  "$RBUILD" build specs/default.yaml --lock "$TMP/a.lock.json" -o "$TMP/out-a" --cache "$TMP/cache" >/dev/null) ||
  fail "building the image in $a"
prov="$TMP/out-a/default.provenance.json"
grep -q "\"gitCommit\": \"$(git -C "$a" rev-parse HEAD)\"" "$prov" || fail "provenance lacks the commit"
pass "built the default image in $a"

git clone -q "$SRC" "$b"
(cd "$b" && echo "another commit" > NOTE-reproduce-test && git add NOTE-reproduce-test &&
  git -c user.name=t -c user.email=t@t commit -q -m "move the clone past the recorded commit")
start=$(date +%s)
rc=0
(cd "$b" && "$RBUILD" reproduce "$prov" --image "$TMP/out-a/default.eif" -o "$TMP/out-b" --cache "$TMP/cache-b" --json) \
  > "$TMP/report.json" 2>"$TMP/reproduce.err" || rc=$?
secs=$(( $(date +%s) - start ))
[ $rc -eq 0 ] || fail "reproduce failed (exit $rc): $(cat "$TMP/report.json" "$TMP/reproduce.err")"
cmp "$TMP/out-a/default.eif" "$TMP/out-b/default.eif" || fail "EIFs differ"
/usr/bin/python3 - "$TMP/report.json" <<'PY' || fail "report: $(cat "$TMP/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["identical"] is True and not r["failure"], r
assert any("checked out" in n for n in r["notes"]), r["notes"]
assert r["packages"] and all(p["status"] == "same" for p in r["packages"]), r["packages"]
assert not r["inputMismatches"] and not r["imageMismatches"]
PY
pass "rbuild reproduce from a second clone at another path and commit: identical EIF (${secs} s, $(grep -c '"status": "same"' "$TMP/report.json") packages at the recorded version)"

# A commit the clone does not have is refused with the way to get it.
sed "s/$(git -C "$a" rev-parse HEAD)/0123456789abcdef0123456789abcdef01234567/g" "$prov" > "$TMP/other.json"
expect_fail 'commit 0123456789abcdef0123456789abcdef01234567 is not in the clone .*git -C .* fetch origin' \
  bash -c "cd '$b' && '$RBUILD' reproduce '$TMP/other.json'"
pass "an unknown commit is refused, saying how to fetch it"
