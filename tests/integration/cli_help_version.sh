#!/usr/bin/env bash
# Every executable answers --help and --version and exits 0, without acting:
# help on stdout, `NAME VERSION` for --version, nothing written in its working
# directory. usage: cli_help_version.sh VERSION BINARY...
set -euo pipefail
version=$1; shift
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fails=0
for bin in "$@"; do
  name=$(basename "$bin")
  [ -x "$bin" ] || { echo "FAIL: $bin is not built"; fails=$((fails + 1)); continue; }
  rc=0; out=$(cd "$work" && timeout 10 "$bin" --help 2>"$work.err") || rc=$?
  if [ "$rc" -ne 0 ] || ! grep -qi "usage" <<<"$out"; then
    echo "FAIL: $name --help: exit $rc, stdout: ${out:0:200} stderr: $(head -c 200 "$work.err")"; fails=$((fails + 1))
  fi
  rc=0; out=$(cd "$work" && timeout 10 "$bin" --version 2>"$work.err") || rc=$?
  # initctl-static is the same program as initctl, built for images.
  want="${name%-static} $version"
  if [ "$rc" -ne 0 ] || [ "$out" != "$want" ]; then
    echo "FAIL: $name --version: exit $rc, printed '${out:0:200}', expected '$want'"; fails=$((fails + 1))
  fi
  if [ -n "$(ls -A "$work")" ]; then
    echo "FAIL: $name --help/--version wrote $(ls -A "$work")"; fails=$((fails + 1)); rm -rf "${work:?}"/*
  fi
done
rm -f "$work.err"
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: $# executables answer --help and --version"
