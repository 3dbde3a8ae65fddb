# checks.<system>: the default image's PCR0, PCR1 and PCR2 against the golden
# values committed in nix/golden-pcrs.json, and two builds of it bit-identical.
{ pkgs, system, eif, buildEif, defaultImage, nixpkgsInfo }:
let
  # Golden PCRs depend on every input byte, so on the nixpkgs the flake is
  # evaluated with: they are recorded per system and per nixpkgs narHash.
  # `scripts/update-golden-pcrs` rewrites them.
  golden = builtins.fromJSON (builtins.readFile ./golden-pcrs.json);
  key = if nixpkgsInfo.narHash == null then "" else nixpkgsInfo.narHash;
  expected = (golden.${system} or { }).${key} or null;

  # The same image again, in another derivation, under another time zone,
  # umask and cache: rbuild must give the same bytes.
  again = (buildEif (defaultImage // { rebuildTag = "second build"; })).overrideAttrs (old: {
    TZ = "Pacific/Kiritimati";
  });
in
{
  pcrs = pkgs.runCommand "default-image-pcrs-check"
    {
      nativeBuildInputs = [ pkgs.jq ];
      expected = if expected == null then "" else builtins.toJSON expected;
      inherit key system;
    }
    ''
      if [ -z "$expected" ]; then
        echo "no golden PCRs for $system with nixpkgs $key in nix/golden-pcrs.json." >&2
        echo "The image built: $(cat ${eif}/pcrs.json)" >&2
        echo "Record them (after checking where they came from) with scripts/update-golden-pcrs." >&2
        exit 1
      fi
      fail=0
      for pcr in PCR0 PCR1 PCR2; do
        want=$(printf '%s' "$expected" | jq -r ".$pcr")
        got=$(jq -r ".$pcr" ${eif}/pcrs.json)
        if [ "$want" = "$got" ]; then
          echo "$pcr $got ok"
        else
          echo "$pcr differs: golden $want, built $got" >&2
          fail=1
        fi
      done
      if [ $fail -ne 0 ]; then
        echo "the default image's PCRs are not the golden ones (nix/golden-pcrs.json, $system, nixpkgs $key);" >&2
        echo "if the change is intended, run scripts/update-golden-pcrs and commit the result" >&2
        exit 1
      fi
      touch $out
    '';

  reproducible = pkgs.runCommand "default-image-reproducible-check" { } ''
    for f in image.eif pcrs.json provenance.json lock.json; do
      if ! cmp ${eif}/$f ${again}/$f; then
        echo "two builds of the default image differ in $f: ${eif} and ${again} (try: rbuild diff)" >&2
        exit 1
      fi
    done
    echo "two builds of the default image are bit-identical: $(sha256sum < ${eif}/image.eif)"
    touch $out
  '';
}
