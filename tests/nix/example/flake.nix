# A user's own image with lib.buildEif (the example of docs/nix.md): an
# application from a Nix derivation, run by our init as a service beside the
# default runtimes, on the default image's kernel and rootfs.
{
  inputs.enclave-framework.url = "github:enclave-framework/enclave-framework";
  inputs.nixpkgs.follows = "enclave-framework/nixpkgs";

  outputs = { self, nixpkgs, enclave-framework }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      ef = enclave-framework.lib.${system};

      # The application: anything a derivation builds. Here a script for
      # busybox's sh, placed at /opt/hello/run inside the image.
      app = pkgs.runCommand "hello-app" { } ''
        mkdir -p $out/opt/hello
        printf '#!/bin/sh\necho "hello from a Nix-built enclave app"\n' > $out/opt/hello/run
        chmod 0755 $out/opt/hello/run
      '';
    in
    {
      packages.${system}.default = ef.buildEif {
        name = "hello";
        version = "1.0.0";
        sourceDateEpoch = 1764028800;
        kernel = pkgs.linuxPackages_6_1.kernel;
        # The default image's rootfs (busybox, vsock modules, fs-monitor's
        # libraries, /data …) plus the application, applied last.
        rootfs = ef.rootfs ++ [ app ];
        # init's configuration and services as Nix attributes (docs/init.md).
        init = {
          hostname = "hello";
          control = { socket = "/run/init.sock"; vsock_port = 9001; };
          log_dir = "/run/init/log";
          modules = map (m: "/lib/modules/${m}.ko") [
            "virtio/virtio_ring" "virtio/virtio" "virtio/virtio_mmio"
            "vsock/vsock" "vsock/vmw_vsock_virtio_transport_common"
            "vsock/vmw_vsock_virtio_transport" "vsock/vsock_loopback"
          ];
        };
        services = {
          ra-web-srv = { exec = "/usr/bin/ra-web-srv"; args = [ "--config" "/etc/ra-web-srv.yaml" ]; restart = "always"; };
          hello = { exec = "/opt/hello/run"; restart = "no"; after = [ "ra-web-srv" ]; log = { console = true; }; };
        };
        # Only init and ra-web-srv of the default runtimes.
        runtimes = { init = { }; ra-web-srv = { }; };
        cmd = [ "/opt/hello/run" ];
        env = [ "PATH=/bin:/usr/bin" "HOME=/root" ];
      };
    };
}
