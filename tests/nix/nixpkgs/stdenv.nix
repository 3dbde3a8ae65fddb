# stdenv.mkDerivation, mkShell and runCommand with nixpkgs' calling
# conventions, run by ./setup.sh with the host's /usr/bin on PATH (no sandbox).
{ system }:
let
  # What a derivation's environment can hold: strings, numbers, booleans,
  # paths and derivations, and lists of them. The rest (passthru, meta,
  # functions) stays in Nix only, as in nixpkgs.
  envAttrs = args: removeAttrs args [ "passthru" "meta" "shellHook" ];
  mkDerivation = args:
    let
      name = args.name or "${args.pname}-${args.version}";
      drv = derivation (envAttrs args // {
        inherit name system;
        builder = "/bin/bash";
        args = [ "-e" ./setup.sh ];
        nativeBuildInputs = args.nativeBuildInputs or [ ];
        buildInputs = args.buildInputs or [ ];
      });
    in
    drv // (args.passthru or { }) // {
      overrideAttrs = f: mkDerivation (args // f args);
      meta = args.meta or { };
    };
in
{
  inherit mkDerivation;
  hostPlatform = { inherit system; isStatic = false; };
  buildPlatform = { inherit system; };
  mkShell = args: mkDerivation ({ name = "shell"; buildCommand = "echo shell > $out"; } // envAttrs args // {
    nativeBuildInputs = (args.packages or [ ]) ++ (args.nativeBuildInputs or [ ]);
  });
  runCommand = name: env: buildCommand: mkDerivation (env // { inherit name buildCommand; });
}
