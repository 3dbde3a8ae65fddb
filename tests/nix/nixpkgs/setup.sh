# The stand-in's builder: nixpkgs' generic phases in their order, each one
# overridable by an attribute of the same name, with the host's tools.
set -euo pipefail
PATH=/usr/bin:/bin
for p in ${nativeBuildInputs:-} ${buildInputs:-}; do
  if [ -d "$p/bin" ]; then PATH="$p/bin:$PATH"; fi
done
export PATH
export NIX_BUILD_CORES=${NIX_BUILD_CORES:-1}
[ "$NIX_BUILD_CORES" -gt 0 ] || NIX_BUILD_CORES=1
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-315532800}
cd "$NIX_BUILD_TOP"

if [ -n "${buildCommand:-}" ]; then
  eval "$buildCommand"
  exit 0
fi

defaultUnpack() {
  [ -n "${src:-}" ] || return 0
  local dir
  dir=$(basename "$src"); dir=${dir#*-}
  cp -r --no-preserve=mode,ownership "$src" "$dir"
  chmod -R u+w "$dir"
  cd "$dir"
}
runPhase() {
  local phase=$1 default=$2
  if [ -n "${!phase:-}" ]; then eval "${!phase}"; else $default; fi
}
runPhase unpackPhase defaultUnpack
runPhase configurePhase true
runPhase buildPhase true
if [ "${doCheck:-}" = 1 ]; then runPhase checkPhase true; fi
runPhase installPhase true
[ "${dontFixup:-}" = 1 ] || runPhase fixupPhase true
