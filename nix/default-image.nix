# The default image (specs/default.yaml) as buildEif arguments, with its
# inputs from nixpkgs instead of the host: the same items in the same order,
# the same configuration files (specs/default/*.yaml), the runtimes of this
# flake. Built from the same bytes it is the same EIF, byte for byte, as
# `scripts/build-default` makes (tests/integration/nix_flake.sh checks that).
{ pkgs, system, runtimes }:
let
  kernel = pkgs.linuxPackages_6_1.kernel;
  modules = "${kernel}/lib/modules/${kernel.modDirVersion}/kernel";
  specs = ../specs;
in
{
  name = "default";
  version = "0.1.0";
  cpus = 2;
  memory = 512;
  sourceDateEpoch = 1764028800; # 2025-11-25T00:00:00Z, as in specs/default.yaml
  inherit kernel;
  cmdline = "reboot=k panic=30 pci=off nomodules console=ttyS0 random.trust_cpu=on root=/dev/ram0";
  rootfs = [
    { directory = "${specs}/default/rootfs"; }
    { file = "${pkgs.busybox.override { enableStatic = true; }}/bin/busybox"; dest = "/bin/busybox"; mode = "0755"; }
    { directory = "${modules}/net/vmw_vsock"; dest = "/lib/modules/vsock"; }
    { file = "${modules}/drivers/virtio/virtio.ko"; dest = "/lib/modules/virtio/virtio.ko"; }
    { file = "${modules}/drivers/virtio/virtio_ring.ko"; dest = "/lib/modules/virtio/virtio_ring.ko"; }
    { file = "${modules}/drivers/virtio/virtio_mmio.ko"; dest = "/lib/modules/virtio/virtio_mmio.ko"; }
  ]
  ++ import ./egress.nix { inherit pkgs system modules; }
  ++ import ./closure.nix { inherit pkgs system; }
  ++ [
    # ef-agent's simulated NSM signs with the committed DEVELOPMENT CA (local mode only)
    { dir = "/etc/ef-agent"; mode = "0755"; }
    { dir = "/etc/ef-agent/sim-nsm"; mode = "0700"; }
    { dir = "/etc/ef-agent/sim-nsm/ca"; mode = "0700"; }
    { file = "${specs}/default/dev-ca/dev-root.pem"; dest = "/etc/ef-agent/sim-nsm/ca/dev-root.pem"; mode = "0644"; }
    { file = "${specs}/default/dev-ca/dev-root.key"; dest = "/etc/ef-agent/sim-nsm/ca/dev-root.key"; mode = "0600"; }
    { file = "${specs}/default/dev-ca/dev-intermediate.pem"; dest = "/etc/ef-agent/sim-nsm/ca/dev-intermediate.pem"; mode = "0644"; }
    { file = "${specs}/default/dev-ca/dev-intermediate.key"; dest = "/etc/ef-agent/sim-nsm/ca/dev-intermediate.key"; mode = "0600"; }
    { dir = "/data"; mode = "0700"; }
    { dir = "/proc"; }
    { dir = "/sys"; }
    { dir = "/dev"; }
    { dir = "/run"; }
    { dir = "/tmp"; mode = "1777"; }
    { dir = "/root"; mode = "0700"; }
  ];
  cmd = [ "/bin/sh" "-c" "echo 'hello from the enclave'; uname -r" ];
  env = [ "PATH=/bin:/usr/bin" "HOME=/root" ];
  runtimes = {
    init.config = "${specs}/default/init.yaml";
    pf-proxy.config = "${specs}/default/pf-proxy.yaml";
    ra-web-srv.config = "${specs}/default/ra-web-srv.yaml";
    fs-monitor.config = "${specs}/default/fs-monitor.yaml";
    ef-agent.config = "${specs}/default/ef-agent.yaml";
  };
}
