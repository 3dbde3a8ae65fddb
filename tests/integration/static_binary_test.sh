#!/usr/bin/env bash
# A binary baked into images must need no loader and no shared library.
# usage: static_binary_test.sh BINARY...
set -euo pipefail
for bin in "$@"; do
  info=$(file -b "$bin")
  if [[ $info != *"statically linked"* ]] || [[ $info == *interpreter* ]]; then
    echo "FAIL: $bin is not static: $info"
    exit 1
  fi
  if ldd "$bin" >/dev/null 2>&1; then
    echo "FAIL: ldd lists libraries for $bin:"
    ldd "$bin"
    exit 1
  fi
  if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
    echo "FAIL: $bin has DT_NEEDED entries"
    exit 1
  fi
  echo "ok: $bin is static ($info)"
done
