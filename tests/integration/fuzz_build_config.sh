#!/usr/bin/env bash
# The fuzz build (EF_FUZZ, clang-19) as scripts/fuzz and scripts/fuzz-all
# configure it: every fuzz target compiles with -fno-sanitize-recover=all (a
# UBSan finding aborts and is saved as a crash, not just printed), keeps
# absolute source paths (no -ffile-prefix-map: traces named
# build-fuzz/build-fuzz/...), and clang-19's symbolizer is installed.
source "$(dirname "$0")/lib.sh" "$@"
command -v clang++-19 >/dev/null || fail "clang++-19 missing (scripts/setup installs it)"
[ -x /usr/lib/llvm-19/bin/llvm-symbolizer ] || fail "/usr/lib/llvm-19/bin/llvm-symbolizer missing (scripts/setup installs llvm-19)"
CC=clang-19 CXX=clang++-19 cmake -S "$SRC" -B "$TMP/build-fuzz" -G Ninja -DEF_FUZZ=ON -DEF_TESTS=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$TMP/configure.log" 2>&1 || { cat "$TMP/configure.log"; fail "configure"; }
python3 - "$TMP/build-fuzz/compile_commands.json" <<'PY' || fail "fuzz compile flags"
import json, sys
cmds = [c for c in json.load(open(sys.argv[1])) if "/tests/fuzz/" in c["file"] and c["file"].endswith("_fuzz.cc")]
assert len(cmds) >= 10, f"only {len(cmds)} fuzz targets configured"
for c in cmds:
    cmd = c.get("command") or " ".join(c["arguments"])
    for want in ("-fno-sanitize-recover=all", "-fsanitize=fuzzer-no-link,address,undefined"):
        assert want in cmd, f"{c['file']}: no {want}"
    assert "-ffile-prefix-map" not in cmd, f"{c['file']}: -ffile-prefix-map in a fuzz build"
print(f"{len(cmds)} fuzz targets: -fno-sanitize-recover=all, absolute paths")
PY
pass "fuzz build flags and symbolizer"
