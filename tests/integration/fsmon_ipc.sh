#!/usr/bin/env bash
# fs-monitor end to end: a temp tree, a fake ra-web-srv (fsmon_lib.py listen), and
# every kind of change (writes, renames of files and directories, moves in and out,
# deletes, new nested directories, ignored files, odd names, ra-web-srv restarts).
# After each step the state replayed from the socket must equal the tree hashed
# independently (python hashlib; spot checks with openssl dgst).
source "$(dirname "$0")/lib.sh"
FSMON="$BUILD/attest/fsmon/fs-monitor"
LIB="$SRC/tests/integration/fsmon_lib.py"
ROOT="$TMP/root"
OUT="$TMP/outside"
mkdir -p "$ROOT/pre/sub" "$OUT"
echo one > "$ROOT/pre/a.txt"
head -c 3000000 /dev/urandom > "$ROOT/pre/sub/big.bin"
echo tmp > "$ROOT/pre/x.tmp"
cat > "$TMP/ignore" <<'IGN'
# build products and caches
*.tmp
!keep.tmp
cache/
/top-only.log
IGN
IGN_RE='(^|/)cache(/|$)|^top-only\.log$|(^|/)(?!keep\.tmp$)[^/]*\.tmp$'
cat > "$TMP/config.yaml" <<CFG
roots: [$ROOT]
ignore_file: $TMP/ignore
hash_threads: 2
settle_ms: 2
socket: $TMP/files.sock
status_interval_s: 1
CFG

python3 "$LIB" listen "$TMP/files.sock" "$TMP/ipc.log" & LPID=$!
"$FSMON" --config "$TMP/config.yaml" 2>"$TMP/fsmon.log" & FPID=$!
cleanup() { kill "$FPID" "$LPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
check() { python3 "$LIB" wait "$TMP/ipc.log" "$ROOT" "$IGN_RE" 60 || { tail -20 "$TMP/fsmon.log"; fail "$1"; }; pass "$1"; }

check "initial scan"

# spot check against openssl
want=$(openssl dgst -sha3-512 -r "$ROOT/pre/sub/big.bin" | cut -d' ' -f1)
grep -q "\"path\":\"$ROOT/pre/sub/big.bin\",\"kind\":\"file\",\"sha3_512\":\"$want\",\"size\":3000000" "$TMP/ipc.log" \
  || fail "big.bin hash differs from openssl dgst"
pass "openssl spot check"

echo two > "$ROOT/new.txt"
echo changed >> "$ROOT/pre/a.txt"
: > "$ROOT/empty"
check "writes"

mv "$ROOT/new.txt" "$ROOT/renamed.txt"
mv "$ROOT/pre/sub" "$ROOT/pre/sub2"
check "file and directory renames"
grep -q "\"op\":\"del\",\"path\":\"$ROOT/pre/sub\"}" "$TMP/ipc.log" || fail "no del for the renamed directory"

mkdir -p "$ROOT/n1/n2/n3" && echo deep > "$ROOT/n1/n2/n3/f" && echo mid > "$ROOT/n1/m"
check "new nested directories"
echo after > "$ROOT/n1/n2/n3/later"   # inside a directory created after start
mv "$ROOT/n1/n2" "$ROOT/moved-n2" && echo post-move > "$ROOT/moved-n2/n3/post"
check "writes inside a moved directory"

mv "$ROOT/moved-n2" "$OUT/gone"
mkdir -p "$OUT/incoming/d" && echo in > "$OUT/incoming/d/f" && echo in2 > "$OUT/incoming/g"
mv "$OUT/incoming" "$ROOT/incoming"
echo x > "$OUT/file-in" && mv "$OUT/file-in" "$ROOT/file-in"
check "moves out of and into the tree"
echo late > "$OUT/gone/n3/late"  # the moved-out tree is no longer watched
check "moved-out tree forgotten"

rm "$ROOT/renamed.txt"
rm -rf "$ROOT/incoming"
check "deletes"

mkdir -p "$ROOT/cache/x" "$ROOT/deep/cache"
echo c > "$ROOT/cache/x/f"; echo c > "$ROOT/deep/cache/f"; echo t > "$ROOT/a.tmp"; echo k > "$ROOT/keep.tmp"
echo l > "$ROOT/top-only.log"; mkdir -p "$ROOT/deep/sub" && echo l > "$ROOT/deep/sub/top-only.log"
check "ignore file"
if grep -q "\"path\":\"$ROOT/cache" "$TMP/ipc.log" || grep -q "a.tmp\"" "$TMP/ipc.log"; then fail "ignored path published"; fi

printf 'x' > "$ROOT/$(printf 'odd "name"\\ \001 \xff é')"
printf 'y' > "$ROOT/$(printf 'line\nbreak')"
check "odd file names (JSON escaping)"

# atomic replace: write a temp name then rename over the target
echo v1 > "$ROOT/model.bin"; echo v2 > "$ROOT/.model.part" && mv "$ROOT/.model.part" "$ROOT/model.bin"
check "rename over an existing file"

# ra-web-srv goes away; changes meanwhile; it comes back and gets a snapshot
kill "$LPID"; wait "$LPID" 2>/dev/null || true
echo while-away > "$ROOT/away.txt"; rm "$ROOT/empty"
sleep 0.5
python3 "$LIB" listen "$TMP/files.sock" "$TMP/ipc.log" & LPID=$!
check "reconnect with snapshot"
[ "$(grep -c snapshot_begin "$TMP/ipc.log")" -ge 2 ] || fail "no second snapshot"

kill -TERM "$FPID"; wait "$FPID" || fail "fs-monitor exit status $?"
grep -q "stopping" "$TMP/fsmon.log" || fail "no stop log line"
pass "clean stop"
