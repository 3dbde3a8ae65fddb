# Shared helpers for the shell tests: fail loudly, make temp dirs that vanish.
set -euo pipefail
BUILD=${1:?build dir}
SRC=${2:?source dir}
RBUILD="$BUILD/builder/rbuild"
TMP=$(mktemp -d /tmp/ef-test-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
# expect_fail PATTERN CMD...: CMD must exit non-zero and print PATTERN (grep -E) on stdout/stderr.
expect_fail() {
  local pattern=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "expected failure from: $* (output: $out)"
  [ "$rc" -lt 128 ] || fail "crashed with status $rc: $* (output: $out)"
  grep -qE -- "$pattern" <<<"$out" || fail "expected /$pattern/ in output of: $*; got: $out"
}
