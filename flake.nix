# Enclave Framework as a flake: `nix build .#eif` builds the default image,
# `lib.<system>.buildEif` builds any image with rbuild, `nix flake check`
# pins the default image's PCR0/1/2 and checks that it rebuilds bit for bit.
# See docs/nix.md.
{
  description = "Enclave Framework: reproducible AWS Nitro Enclave images (rbuild, init, pf-proxy, ra-web-srv, fs-monitor)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
      perSystem = forAllSystems (system: import ./nix/per-system.nix { inherit self nixpkgs system; });
      pick = attr: forAllSystems (system: perSystem.${system}.${attr});
    in
    {
      packages = pick "packages";
      lib = pick "lib";
      apps = pick "apps";
      devShells = pick "devShells";
      checks = pick "checks";
    };
}
