# A stand-in for nixpkgs, for tests only: the few attributes the top-level
# flake.nix uses, built from this Debian machine's own toolchain and files
# instead of from source. It is what lets `nix build .#eif` and
# `nix flake check` run offline here:
#
#   tests/nix/make-standin DIR     # this directory + host.json (the kernel release)
#   nix build .#eif --override-input nixpkgs path:DIR ...
#
# The flake under test knows nothing about it. What it shows and what it does
# not is written in docs/nix.md ("What the offline test covers").
{
  description = "Offline stand-in for nixpkgs built from the host's Debian packages (tests only)";

  outputs = { self }:
    let
      host = builtins.fromJSON (builtins.readFile ./host.json);
      forSystem = system: import ./pkgs.nix { inherit system host; };
    in {
      legacyPackages = {
        x86_64-linux = forSystem "x86_64-linux";
        aarch64-linux = forSystem "aarch64-linux";
      };
    };
}
