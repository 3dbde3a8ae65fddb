#!/usr/bin/env bash
# After the README's commands (scripts/build-default), the docs' commands work:
# every program the docs run from the build tree (`build/DIR/NAME` in README.md
# and docs/*.md) and the test helpers they name as built beside their daemon
# (pf-peer, fsmon-testpeer) are targets scripts/build-default builds, and each
# is an executable target of this build.
source "$(dirname "$0")/lib.sh" "$@"
line=$(grep -E '^cmake --build .*--target ' "$SRC/scripts/build-default") || fail "scripts/build-default has no cmake --build --target line"
targets=" $(sed -E 's/.*--target ([^>]*).*/\1/' <<<"$line") "
wanted=$(grep -rhoE '\bbuild/[a-z]+(/[a-z]+)*/[A-Za-z0-9_-]+' "$SRC/README.md" "$SRC"/docs/*.md | xargs -n1 basename | sort -u)
wanted="$wanted pf-peer fsmon-testpeer"
missing=""
for t in $wanted; do
  [[ "$targets" == *" $t "* ]] || missing="$missing $t"
  ninja -C "$BUILD" -t query "$t" >/dev/null 2>&1 || fail "$t is not a target of this build"
done
[ -z "$missing" ] || fail "scripts/build-default does not build:$missing (docs use them)"
pass "scripts/build-default builds every program the docs run: $(echo $wanted)"
