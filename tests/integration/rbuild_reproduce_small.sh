#!/usr/bin/env bash
# rbuild reproduce on a small git-hosted spec (no runtimes, so no cmake build):
# build in one clone, reproduce from a second clone at another path and commit
# (temporary worktree at the recorded commit), identical EIF; the Debian package
# of /bin/busybox is compared with dpkg's; a changed input and a signed image are
# reported as the docs say; verify --rebuild --source does the same.
source "$(dirname "$0")/lib.sh"
origin="$TMP/origin"; mkdir -p "$origin/specs/in"
head -c 4000 /dev/urandom > "$origin/specs/in/kernel"
head -c 100 /dev/urandom > "$origin/specs/in/init"
mkdir -p "$origin/specs/in/tree"; echo hi > "$origin/specs/in/tree/hello"
cat > "$origin/specs/r.yaml" <<'YAML'
name: r
version: "1"
source_date_epoch: 1000
resources: {cpus: 2, memory: 256}
kernel: {path: in/kernel}
init: in/init
rootfs:
  - directory: in/tree
  - file: /bin/busybox
    dest: /bin/busybox
env: [Z=1, A=2]
cmd: ["/bin/true"]
YAML
printf '/out/\n/lockfiles/\n/reproduced/\n' > "$origin/.gitignore"
git -C "$origin" init -q -b main && git -C "$origin" add -A && git -C "$origin" -c user.name=t -c user.email=t@t commit -q -m one
a="$TMP/a/clone"; b="$TMP/b/deeper/clone"
git clone -q "$origin" "$a"; git clone -q "$origin" "$b"
(cd "$a" && "$RBUILD" lock specs/r.yaml >/dev/null && "$RBUILD" build specs/r.yaml -o out --cache "$TMP/c1" >/dev/null)
prov="$a/out/r.provenance.json"
(cd "$b" && echo more > NOTE && git add NOTE && git -c user.name=t -c user.email=t@t commit -q -m two)
(cd "$b" && "$RBUILD" reproduce "$prov" --image "$a/out/r.eif" -o "$TMP/out-b" --cache "$TMP/c2") > "$TMP/rep.txt" ||
  fail "reproduce: $(cat "$TMP/rep.txt")"
cmp "$a/out/r.eif" "$TMP/out-b/r.eif" || fail "EIFs differ"
grep -q "checked out $(git -C "$a" rev-parse HEAD) into" "$TMP/rep.txt" || fail "no worktree checkout reported: $(cat "$TMP/rep.txt")"
grep -q '^reproduced: identical' "$TMP/rep.txt" || fail "$(cat "$TMP/rep.txt")"
[ -z "$(git -C "$b" worktree list | sed 1d)" ] || fail "temporary worktree left behind: $(git -C "$b" worktree list)"
bb=$(dpkg-query -S /bin/busybox | head -1 | cut -d: -f1)
"$RBUILD" reproduce "$prov" --source "$b" -o "$TMP/out-j" --cache "$TMP/c2" --json > "$TMP/rep.json" || fail "json: $(cat "$TMP/rep.json")"
/usr/bin/python3 - "$TMP/rep.json" "$bb" "$(dpkg-query -W -f '${Version}' "$bb")" <<'PY' || fail "report: $(cat "$TMP/rep.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["identical"] is True, r
p = {x["name"]: x for x in r["packages"]}
assert p[sys.argv[2]]["recorded"] == sys.argv[3] and p[sys.argv[2]]["status"] == "same", p
PY
pass "reproduced from a second clone at another path and commit: identical EIF, temp worktree removed, $bb compared with dpkg"

# A recorded package version the machine does not have is named, with the snapshot page.
/usr/bin/python3 - "$prov" "$TMP/oldpkg.json" "$bb" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for dep in d["predicate"]["buildDefinition"]["resolvedDependencies"]:
    pkg = dep.get("annotations", {}).get("debianPackage")
    if pkg and pkg["name"] == sys.argv[3]:
        pkg["version"] = pkg["sourceVersion"] = "0.0.1-0"
json.dump(d, open(sys.argv[2], "w"))
PY
(cd "$b" && "$RBUILD" reproduce "$TMP/oldpkg.json" -o "$TMP/out-o" --cache "$TMP/c2") > "$TMP/old.txt" || true
grep -qE "package +$bb recorded 0.0.1-0: unavailable: installed .*, the archive offers .*https://snapshot.debian.org/package/[^/]+/0.0.1-0/" "$TMP/old.txt" ||
  fail "unavailable package not reported: $(cat "$TMP/old.txt")"
pass "a recorded version the archive lacks is named with installed, offered and snapshot.debian.org page"

# An input that changed since: every mismatch is listed, exit non-zero.
echo changed > "$a/specs/in/tree/hello"; git -C "$a" -c user.name=t -c user.email=t@t commit -qam "change an input"
git -C "$b" pull -q --no-rebase "$a" main 2>/dev/null || true
sed "s/$(git -C "$a" rev-parse HEAD~1)/$(git -C "$a" rev-parse HEAD)/g" "$prov" > "$TMP/moved.json"
git -C "$b" fetch -q "$a" main
rc=0; (cd "$b" && "$RBUILD" reproduce "$TMP/moved.json" --image "$a/out/r.eif" -o "$TMP/out-m" --cache "$TMP/c2") > "$TMP/moved.txt" || rc=$?
[ $rc -ne 0 ] || fail "a changed input reproduced"
grep -q '^input *rootfs\[0\] (in/tree) is [0-9a-f]*, provenance records' "$TMP/moved.txt" || fail "input mismatch not listed: $(cat "$TMP/moved.txt")"
grep -q '^image .*rootfs/hello' "$TMP/moved.txt" || fail "file difference not listed: $(cat "$TMP/moved.txt")"
grep -q '^NOT reproduced' "$TMP/moved.txt" || fail "$(cat "$TMP/moved.txt")"
pass "a changed input: the input digest and the differing file are listed, exit $rc"

# verify --rebuild given only the image, its provenance and a clone.
"$RBUILD" verify "$a/out/r.eif" --rebuild --source "$b" --cache "$TMP/c2" > "$TMP/v.txt" || fail "verify --rebuild --source: $(cat "$TMP/v.txt")"
grep -q '^rebuild *ok .*reproduced: identical' "$TMP/v.txt" || fail "$(cat "$TMP/v.txt")"
pass "verify --rebuild --source CLONE reproduces from source"
