#!/usr/bin/env bash
# Boots our init from a nitro-cli layout ramdisk pair in QEMU (TCG, Debian's cloud
# kernel): services start in dependency order, output reaches the console, an
# `initctl shutdown` stops them in reverse order and the VM powers off. Then the
# same without /etc/init.yaml: /cmd runs with /env, as AWS's init does. Then a
# service file that does not load: PID 1 stays up, starts nothing, reports the
# error on the console and keeps the control socket where the file asked.
# usage: init_qemu_boot_test.sh INIT INITCTL
set -euo pipefail
INIT=$1 INITCTL=$2
. "$(dirname "$0")/init_qemu_lib.sh"

new_image
cat >"$work/r2/rootfs/etc/init.yaml" <<'YAML'
hostname: e2e-vm
services:
  db:
    exec: /bin/sh
    args: [-c, "echo db up as uid $(id -u); touch /run/db.ready; exec sleep 1000"]
    ready: {file: /run/db.ready}
  httpd:
    exec: httpd
    args: [-f, -p, "127.0.0.1:8080", -h, /tmp]
    ready: {tcp: 8080, timeout: 20s}
  web:
    exec: sh
    args: [-c, "echo web up on $(hostname); exec sleep 1000"]
    requires: [db, httpd]
    user: nobody
  broken:
    exec: /bin/does-not-exist
  stopper:
    exec: sh
    args: [-c, "initctl list; sleep 1; initctl shutdown"]
    after: [web]
    restart: no
YAML
echo /bin/sh >"$work/r2/cmd"
: >"$work/r2/env"
boot "ef.local"
expect_line '^init: starting: mode=vm .*heartbeat=off'
# The firmware's last banner ("Booting from ROM..") can share this line.
expect_line 'init: switched root to /rootfs'
expect_line '^\[db\] db up as uid 0$'
expect_line '^\[web\] web up on e2e-vm$'
expect_line '^init: error: service broken cannot start: exec /bin/does-not-exist: No such file'
expect_before '^init: service db is ready' '^init: started service web \(pid [0-9]+\)'
expect_before '^init: service httpd is ready' '^init: started service web \(pid [0-9]+\)'
expect_line '^\[stopper\] web +running'
expect_line '^init: all services started'
expect_before '^init: stopping service stopper' '^init: stopping service web'
expect_before '^init: service web killed by SIGTERM' '^init: stopping service db'
expect_line '^init: all services stopped'
expect_line '^init: powering off'
expect_line 'reboot: Power down'
echo "ok: service file boot and ordered shutdown"

new_image
printf '/bin/sh\n-c\necho cmd ran with GREETING=$GREETING; exit 0\n' >"$work/r2/cmd"
printf 'GREETING=hello\nPATH=/bin\n' >"$work/r2/env"
boot "ef.local"
expect_line '^init: no /etc/init.yaml; running /cmd as service main'
expect_line '^\[main\] cmd ran with GREETING=hello$'
expect_line '^init: shutting down \(critical service main exited with status 0\)'
expect_line 'reboot: Power down'
echo "ok: /cmd and /env without a service file"

new_image
cat >"$work/r2/rootfs/etc/init.yaml" <<'YAML'
control:
  socket: /run/custom-init.sock
  vsock_port: 0
services:
  web: {exec: /bin/sh, restrat: no}
YAML
echo /bin/sh >"$work/r2/cmd"
: >"$work/r2/env"
boot "ef.local" 40  # init never powers off here: QEMU is stopped by the timeout
expect_line '^init: error: configuration error: /etc/init.yaml:5: services.web.restrat: unknown key; starting no services; control API on the file.s control: settings'
expect_line '^init: starting: mode=vm .*services=0 .*control=/run/custom-init.sock$'
expect_line '^init: system up in'
if grep -Eq '^init: (started service|powering off)|Kernel panic' "$work/console.txt"; then
  echo "FAIL: a broken service file started something or ended PID 1"; cat "$work/console.txt"; exit 1
fi
echo "ok: a broken service file as PID 1: no services, control socket where the file asked, no exit"
