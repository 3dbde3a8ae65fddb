# Everything the flake offers for one system. nixpkgs supplies the toolchain
# and the image inputs; the CMake build and rbuild do the work.
{ self, nixpkgs, system }:
let
  pkgs = nixpkgs.legacyPackages.${system};

  # What the nixpkgs input is, for locks and provenance: its revision (a
  # path: input has none) and narHash. Not lastModified: for a path: input
  # that is a file mtime, which would make the lock depend on a checkout's age.
  nixpkgsInfo = {
    rev = nixpkgs.rev or null;
    narHash = nixpkgs.narHash or null;
  };

  runtimes = import ./runtimes.nix { inherit pkgs self; };

  # One package per binary, each holding bin/NAME.
  single = name: pkgs.runCommand "${name}-${runtimes.version}" { } ''
    mkdir -p $out/bin
    cp ${runtimes}/bin/${name} $out/bin/${name}
  '';
  rbuild = single "rbuild";

  buildEif = import ./build-eif.nix { inherit pkgs system rbuild runtimes nixpkgsInfo; };
  defaultImage = import ./default-image.nix { inherit pkgs system runtimes; };
  eif = buildEif defaultImage;

  checks = import ./checks.nix { inherit pkgs system eif buildEif defaultImage nixpkgsInfo; };
in
{
  packages = {
    inherit rbuild runtimes eif;
    init = single "init";
    initctl = single "initctl";
    pf-proxy = single "pf-proxy";
    ra-web-srv = single "ra-web-srv";
    fs-monitor = single "fs-monitor";
    ef-agent = single "ef-agent";
    default = eif;
  };

  lib = {
    inherit buildEif;
    # The pieces of the default image, for images that extend it.
    inherit (defaultImage) rootfs;
    defaultRuntimes = defaultImage.runtimes;
    fsMonitorClosure = import ./closure.nix { inherit pkgs system; };
  };

  apps.rbuild = { type = "app"; program = "${rbuild}/bin/rbuild"; };
  apps.default = { type = "app"; program = "${rbuild}/bin/rbuild"; };

  # The toolchain that builds and tests the project (the CMake build).
  devShells.default = pkgs.mkShell {
    packages = with pkgs; [
      cmake ninja pkg-config ccache jq
      openssl yaml-cpp nlohmann_json cli11 libarchive boost zlib nats-c catch2 busybox
    ];
  };

  inherit checks;
}
