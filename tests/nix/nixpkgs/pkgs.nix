# The nixpkgs attributes flake.nix names, each standing for the Debian 12
# package that provides the same thing on this machine. Tools are the host's
# binaries on PATH; libraries are found by the host compiler's default search
# paths, as in the CMake build (so the runtimes come out byte-identical to
# it); files that end up inside an image (kernel, modules, busybox, the
# shared libraries fs-monitor loads) are copied into the store, so locks and
# provenance name store paths exactly as with real nixpkgs. Each output
# records the Debian package and version it stands for in
# nix-support/debian-package.
{ system, host }:
let
  stdenv = import ./stdenv.nix { inherit system; };
  triplet = if system == "aarch64-linux" then "aarch64-linux-gnu" else "x86_64-linux-gnu";

  # A package that stands for Debian packages `debs`; `copy` is a shell
  # fragment filling $out from the host's files; `bins` are linked into $out/bin.
  debian = { pname, debs, bins ? [ ], copy ? "", passthru ? { } }:
    let
      drv = stdenv.mkDerivation {
        inherit pname passthru;
        version = "debian";
        outputs = [ "out" ];
        buildCommand = ''
          mkdir -p $out/nix-support $out/bin
          dpkg-query -W -f='${"$"}{Package} ${"$"}{Version}\n' ${toString debs} > $out/nix-support/debian-package
          for b in ${toString bins}; do ln -s "$(command -v $b)" $out/bin/$b; done
          ${copy}
        '';
      };
    in
    drv // {
      # nixpkgs' multiple outputs (openssl.out, .dev, glibc.static, …) are one here.
      out = drv; dev = drv; bin = drv; lib = drv; static = drv;
      # .override { static = true; } etc.: Debian ships shared and static
      # libraries side by side, so every variant is the same package.
      override = _: drv // { inherit (drv) out dev bin lib static; override = _: drv; };
    };

  copyLibs = libs: ''
    mkdir -p $out/lib
    for f in ${toString libs}; do cp -L /lib/${triplet}/$f $out/lib/$f; done
  '';
in
rec {
  inherit stdenv;
  inherit (stdenv) mkShell runCommand;

  cmake = debian { pname = "cmake"; debs = [ "cmake" ]; bins = [ "cmake" "ctest" ]; };
  ninja = debian { pname = "ninja"; debs = [ "ninja-build" ]; bins = [ "ninja" ]; };
  pkg-config = debian { pname = "pkg-config"; debs = [ "pkg-config" ]; bins = [ "pkg-config" ]; };
  jq = debian { pname = "jq"; debs = [ "jq" ]; bins = [ "jq" ]; };
  ccache = debian { pname = "ccache"; debs = [ "ccache" ]; bins = [ "ccache" ]; };
  gcc = debian { pname = "gcc"; debs = [ "gcc-12" "g++-12" ]; bins = [ "gcc" "g++" ]; };
  qemu = debian { pname = "qemu"; debs = [ "qemu-system-x86" ]; bins = [ "qemu-system-x86_64" ]; };

  zlib = debian { pname = "zlib"; debs = [ "zlib1g-dev" ]; };
  boost = debian { pname = "boost"; debs = [ "libboost1.74-dev" ]; };
  nlohmann_json = debian { pname = "nlohmann_json"; debs = [ "nlohmann-json3-dev" ]; };
  cli11 = debian { pname = "cli11"; debs = [ "libcli11-dev" ]; };
  libarchive = debian { pname = "libarchive"; debs = [ "libarchive-dev" ]; };
  catch2 = debian { pname = "catch2"; debs = [ "catch2" ]; };
  yaml-cpp = debian { pname = "yaml-cpp"; debs = [ "libyaml-cpp-dev" "libyaml-cpp0.7" ]; };
  openssl = debian {
    pname = "openssl";
    debs = [ "libssl-dev" "libssl3" ];
    copy = copyLibs [ "libcrypto.so.3" "libssl.so.3" ];
  };
  nats-c = debian {
    pname = "nats-c";
    debs = [ "libnats-dev" "libnats3.4" ];
    copy = copyLibs [ "libnats.so.3.4" ];
  };
  protobufc = debian {
    pname = "protobuf-c";
    debs = [ "libprotobuf-c1" ];
    copy = copyLibs [ "libprotobuf-c.so.1" ];
  };
  glibc = debian {
    pname = "glibc";
    debs = [ "libc6" "libc6-dev" ];
    copy = copyLibs [ "libc.so.6" (if system == "aarch64-linux" then "ld-linux-aarch64.so.1" else "ld-linux-x86-64.so.2") ];
  };
  # nft and its libraries (transparent egress in the default image)
  nftables = debian {
    pname = "nftables";
    debs = [ "nftables" "libnftables1" ];
    copy = "cp -L /usr/sbin/nft $out/bin/nft\n" + copyLibs [ "libnftables.so.1" ];
  };
  libnftnl = debian { pname = "libnftnl"; debs = [ "libnftnl11" ]; copy = copyLibs [ "libnftnl.so.11" ]; };
  libmnl = debian { pname = "libmnl"; debs = [ "libmnl0" ]; copy = copyLibs [ "libmnl.so.0" ]; };
  iptables = debian { pname = "iptables"; debs = [ "libxtables12" ]; copy = copyLibs [ "libxtables.so.12" ]; };
  jansson = debian { pname = "jansson"; debs = [ "libjansson4" ]; copy = copyLibs [ "libjansson.so.4" ]; };
  gmp = debian { pname = "gmp"; debs = [ "libgmp10" ]; copy = copyLibs [ "libgmp.so.10" ]; };
  libedit = debian { pname = "libedit"; debs = [ "libedit2" ]; copy = copyLibs [ "libedit.so.2" ]; };
  ncurses = debian { pname = "ncurses"; debs = [ "libtinfo6" ]; copy = copyLibs [ "libtinfo.so.6" ]; };
  libbsd = debian { pname = "libbsd"; debs = [ "libbsd0" ]; copy = copyLibs [ "libbsd.so.0" ]; };
  libmd = debian { pname = "libmd"; debs = [ "libmd0" ]; copy = copyLibs [ "libmd.so.0" ]; };
  busybox = debian {
    pname = "busybox";
    debs = [ "busybox-static" ];
    copy = "cp -L /bin/busybox $out/bin/busybox";
  };

  # The kernel as nixpkgs lays it out: $out/bzImage (Image on aarch64) and
  # $out/lib/modules/RELEASE/kernel/…; the release comes from host.json.
  # Only the modules images here load are copied (vsock, virtio, netfilter NAT).
  linuxPackages_6_1 = {
    kernel = debian {
      pname = "linux";
      debs = [ "linux-image-${host.kernelRelease}" ];
      passthru = { modDirVersion = host.kernelRelease; version = host.kernelRelease; };
      copy = ''
        cp -L /boot/vmlinuz-${host.kernelRelease} $out/${if system == "aarch64-linux" then "Image" else "bzImage"}
        # Only the module trees images here load (vsock and virtio), not all 90 MB.
        m=lib/modules/${host.kernelRelease}/kernel
        mkdir -p $out/$m/net $out/$m/drivers
        cp -rL /$m/net/vmw_vsock $out/$m/net/
        cp -rL /$m/drivers/virtio $out/$m/drivers/
        # and netfilter's NAT for transparent egress
        mkdir -p $out/$m/net/netfilter $out/$m/net/ipv4/netfilter $out/$m/net/ipv6/netfilter $out/$m/lib
        for f in nfnetlink nf_conntrack nf_nat nf_tables nft_chain_nat nft_redir; do
          cp -L /$m/net/netfilter/$f.ko $out/$m/net/netfilter/
        done
        cp -L /$m/net/ipv4/netfilter/nf_defrag_ipv4.ko $out/$m/net/ipv4/netfilter/
        cp -L /$m/net/ipv6/netfilter/nf_defrag_ipv6.ko $out/$m/net/ipv6/netfilter/
        cp -L /$m/lib/libcrc32c.ko $out/$m/lib/
      '';
    };
  };
}
