# rbuild and the runtimes, from one CMake build of this repository: the same
# CMakeLists, flags and -ffile-prefix-map as `scripts/build-default`, so the
# same compiler and libraries give the same bytes (the runtimes are locked by
# sha256). init, pf-proxy and ra-web-srv link statically (libc.a, libssl.a,
# libcrypto.a, libyaml-cpp.a), as CMake does when the archives exist;
# fs-monitor is dynamic (libnats). Nothing is patched or stripped afterwards:
# the binaries leave the build as the linker wrote them.
{ pkgs, self }:
let
  # The sources the build reads: everything but tests, docs, README, specs, scripts
  # and Nix files, so editing those does not rebuild (components build their
  # benchmarks, so bench/ stays).
  root = toString ../.;
  skip = [ "tests" "docs" "specs" "lockfiles" "scripts" "nix" "out" "flake.nix" "flake.lock" "result" "README.md" ];
  src = builtins.path {
    path = ../.;
    name = "enclave-framework-src";
    filter = path: type:
      let
        rel = builtins.substring (builtins.stringLength root + 1) (builtins.stringLength (toString path)) (toString path);
        top = builtins.head (builtins.split "/" rel);
      in
      !(builtins.elem top skip) && builtins.match "build([-_.].*)?" top == null && builtins.match "\\..*" top == null;
  };
  targets = [ "rbuild" "init" "initctl" "pf-proxy" "ra-web-srv" "fs-monitor" "ef-agent" ];
in
pkgs.stdenv.mkDerivation {
  pname = "enclave-framework";
  version = "0.1.0";
  inherit src;

  nativeBuildInputs = [ pkgs.cmake pkgs.ninja pkgs.pkg-config ];
  buildInputs = [
    pkgs.openssl
    (pkgs.openssl.override { static = true; })
    (pkgs.yaml-cpp.override { static = true; })
    pkgs.glibc.static
    pkgs.nlohmann_json pkgs.cli11 pkgs.libarchive pkgs.boost pkgs.zlib pkgs.nats-c
  ];

  # ccache, when a host has it, would only cache: no effect on the bytes.
  CCACHE_DISABLE = "1";

  configurePhase = ''
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEF_TESTS=OFF
  '';
  buildPhase = ''
    cmake --build build -j "$NIX_BUILD_CORES" --target ${toString targets}
  '';
  installPhase = ''
    mkdir -p $out/bin
    cp build/builder/rbuild build/runtime/init build/runtime/initctl build/netproxy/pf-proxy \
       build/attest/websrv/ra-web-srv build/attest/fsmon/fs-monitor build/runtime/agent/ef-agent $out/bin/
  '';
  dontFixup = true;

  meta.description = "rbuild and the enclave runtimes (init, initctl, pf-proxy, ra-web-srv, fs-monitor, ef-agent)";
}
