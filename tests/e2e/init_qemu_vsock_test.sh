#!/usr/bin/env bash
# initctl over real vsock: the guest loads vsock_loopback (the host kernel here has
# no vsock loopback) and a service talks to init's vsock listener at CID 1.
# Boot 1 allows CID 1 and drives ping/list/status/shutdown; boot 2 keeps the
# default allow-list (the host, CID 3) and must refuse the same client.
# usage: init_qemu_vsock_test.sh INIT INITCTL
set -euo pipefail
INIT=$1 INITCTL=$2
. "$(dirname "$0")/init_qemu_lib.sh"

moddir=/lib/modules/$kver/kernel/net/vmw_vsock
add_modules() {
  for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do
    if [ -f "$moddir/$m.ko" ]; then
      cp "$moddir/$m.ko" "$work/r2/rootfs/lib/modules/"
    elif [ -f "$moddir/$m.ko.xz" ]; then
      xz -dc "$moddir/$m.ko.xz" >"$work/r2/rootfs/lib/modules/$m.ko"
    else
      echo "SKIP: no $m module for $kver"
      exit 77
    fi
  done
}

config() {  # $1: the control section
  cat >"$work/r2/rootfs/etc/init.yaml" <<YAML
modules: [/lib/modules/vsock.ko, /lib/modules/vmw_vsock_virtio_transport_common.ko, /lib/modules/vsock_loopback.ko]
control: $1
services:
  idle:
    exec: /bin/sleep
    args: ["600"]
  client:
    exec: /bin/sh
    args: [-c, "initctl --vsock 1:9001 ping; initctl --vsock 1 status idle; initctl --vsock 1:9001 list --json | grep -c '\"name\"'; initctl --vsock 1 shutdown || initctl shutdown"]
    restart: no
YAML
}

new_image
add_modules
config "{vsock_port: 9001, vsock_allow: [1]}"
boot "ef.local"
expect_line '^init: loaded module /lib/modules/vsock_loopback.ko'
expect_line '^init: starting: .*control=/run/init.sock,vsock:9001'
expect_line '^\[client\] pong \(init [0-9.]+\)$'
expect_line '^\[client\] State: +running$'
expect_line '^\[client\] 2$'
expect_line '^init: shutting down \(initctl shutdown\)'
expect_line 'reboot: Power down'
echo "ok: initctl over vsock CID 1"

new_image
add_modules
config "{vsock_port: 9001}"
boot "ef.local"
expect_line '^init: warn: control: refused vsock client from CID 1'
expect_line '^\[client\] initctl ping: error: '
expect_line '^init: shutting down \(initctl shutdown\)'
echo "ok: vsock clients outside the allow-list are refused"
