# lib.<system>.buildEif: an EIF from Nix values. Nix supplies every input as
# a store path; the derivation writes the spec, has rbuild lock it (store
# paths and their sha256, plus the nixpkgs revision) and builds it.
# $out: image.eif, pcrs.json, provenance.json, lock.json, spec.json.
{ pkgs, system, rbuild, runtimes, nixpkgsInfo }:
let
  runtimesPkg = runtimes;
  isDerivation = x: builtins.isAttrs x && (x.type or null) == "derivation";
  defaultRuntimes = [ "init" "pf-proxy" "ra-web-srv" "fs-monitor" ]; # the order specs/default.yaml uses
  # ef-agent is opt-in: its configuration names the operator keys allowed to
  # exec and copy, which only the image's author can choose.
  knownRuntimes = defaultRuntimes ++ [ "ef-agent" ];
  defaultConfigs = ../specs/default;

  # JSON with an object's keys in a given order (builtins.toJSON sorts them):
  # the runtimes map keeps the order a YAML spec would give it.
  orderedObject = pairs: "{" + builtins.concatStringsSep "," (map (p: builtins.toJSON p.name + ":" + p.value) pairs) + "}";
in
{ name
, version ? "0.1.0"
, arch ? (if system == "aarch64-linux" then "aarch64" else "x86_64")
, cpus ? 2
, memory ? 512 # MiB
, sourceDateEpoch ? 0 # every mtime in the ramdisks, and BuildTime
, kernel # a kernel package (bzImage, or Image on aarch64, inside) or the image file itself
, cmdline ? null # null: rbuild's default, the Nitro command line
, rootfs ? [ ] # spec items ({ file; dest; mode; } …); a bare path or derivation is a directory layer at /
, runtimes ? null # { NAME = { binary ? …; config ? …; }; }; null: all four, default configurations
, init ? null # init's configuration (docs/init.md) as an attribute set
, services ? null # init's services as an attribute set (merged into init's configuration)
, cmd ? [ ]
, env ? [ "PATH=/bin:/usr/bin" ]
, nsmModule ? null
, stockInit ? null # a stock init binary (e.g. AWS's) instead of runtimes.init
, signing ? null # { certificate; key; }: see docs/nix.md ("Signing") about keys and the store
, rebuildTag ? null # only makes a distinct derivation (the reproducibility check builds twice)
}:
let
  kernelFile =
    if isDerivation kernel then "${kernel}/${if arch == "aarch64" then "Image" else "bzImage"}" else "${kernel}";

  item = x:
    if builtins.isAttrs x && !(isDerivation x) then x
    else if builtins.match ".*\\.tar(\\..*)?" (toString x) != null then { tar = "${x}"; }
    else { directory = "${x}"; };

  wanted =
    if runtimes != null then runtimes
    else if stockInit != null then builtins.listToAttrs (map (n: { name = n; value = { }; }) (builtins.tail defaultRuntimes))
    else builtins.listToAttrs (map (n: { name = n; value = { }; }) defaultRuntimes);

  # init's configuration given as attributes (JSON is YAML), else the default file.
  initConfig =
    if init == null && services == null then null
    else builtins.toFile "${name}-init.yaml" (builtins.toJSON (
      (if init == null then { } else init) // (if services == null then { } else { inherit services; })));

  runtimeJson = n:
    let
      r = wanted.${n};
      config =
        if r ? config then r.config
        else if n == "init" && initConfig != null then initConfig
        else "${defaultConfigs}/${n}.yaml";
    in
    builtins.toJSON { binary = "${r.binary or "${runtimesPkg}/bin/${n}"}"; config = "${config}"; };
  unknown = builtins.filter (n: !(builtins.elem n knownRuntimes)) (builtins.attrNames wanted);

  specAttrs = {
    inherit name version arch;
    resources = { inherit cpus memory; };
    source_date_epoch = sourceDateEpoch;
    kernel = { path = kernelFile; } // (if cmdline == null then { } else { inherit cmdline; });
    rootfs = map item rootfs;
    inherit cmd env;
  }
  // (if nsmModule == null then { } else { nsm_module = "${nsmModule}"; })
  // (if stockInit == null then { } else { init = "${stockInit}"; })
  // (if signing == null then { } else { signing = { certificate = "${signing.certificate}"; key = "key.pem"; }; });

  spec =
    if unknown != [ ] then throw "buildEif ${name}: unknown runtimes ${toString unknown} (known: ${toString knownRuntimes})"
    else
      let
        base = builtins.toJSON specAttrs;
        rts = orderedObject (map (n: { name = n; value = runtimeJson n; })
          (builtins.filter (n: builtins.hasAttr n wanted) knownRuntimes));
      in
      # base ends in "}": append the ordered runtimes map to the object.
      builtins.substring 0 (builtins.stringLength base - 1) base + '',"runtimes":'' + rts + "}";

  nixInfo = builtins.toJSON { inherit system; nixpkgs = nixpkgsInfo; };
in
pkgs.runCommand "${name}-eif-${version}"
{
  nativeBuildInputs = [ rbuild pkgs.jq ];
  inherit spec nixInfo;
  passAsFile = [ "spec" "nixInfo" ];
  signingKey = if signing == null then "" else "${signing.key}";
  imageName = name;
  rebuildTag = if rebuildTag == null then "" else toString rebuildTag;
  passthru = { inherit spec; };
}
''
  mkdir work && cd work
  cp "$specPath" spec.json
  if [ -n "$signingKey" ]; then
    # rbuild wants the key private to its owner; the store copy is 0444.
    cp "$signingKey" key.pem && chmod 0600 key.pem
  fi
  # The lock names every store path with its sha256; the nixpkgs revision is
  # added beside them (rbuild ignores fields it does not know).
  rbuild lock spec.json -o lock.rbuild.json
  jq --slurpfile nix "$nixInfoPath" '. + {nix: $nix[0]}' lock.rbuild.json > lock.json
  rbuild build spec.json --lock lock.json -o out --cache "$TMPDIR/rbuild-cache"
  mkdir -p $out
  cp "out/$imageName.eif" $out/image.eif
  cp "out/$imageName.pcrs.json" $out/pcrs.json
  cp lock.json $out/lock.json
  cp spec.json $out/spec.json
  if [ -n "$signingKey" ]; then
    # A signed provenance is a DSSE envelope: its bytes stay as rbuild signed
    # them; the lock it names by sha256 carries the nixpkgs revision.
    cp "out/$imageName.provenance.json" $out/provenance.json
  else
    jq --slurpfile nix "$nixInfoPath" '.predicate.buildDefinition.internalParameters.nix = $nix[0]' \
      "out/$imageName.provenance.json" > $out/provenance.json
  fi
''
