#!/usr/bin/env bash
# Real AF_VSOCK: boots Debian's cloud kernel under QEMU with a busybox ramdisk,
# loads vsock + vsock_loopback (CID 1), and checks both forwarding directions:
#   pf-peer check → tcp:7200 → pf-proxy (tcp→vsock) → vsock:1:7100 → pf-proxy (vsock→tcp) → echo tcp:7000
# plus a vsock client straight to the vsock→tcp listener and the transparent header over vsock.
# usage: netproxy_vsock_qemu.sh PF_PROXY PF_PEER   (both static); exits 77 when QEMU or the kernel is missing
set -euo pipefail
proxy=$(realpath "$1"); peer=$(realpath "$2")
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$kernel" ] || ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null || [ ! -x /bin/busybox ]; then
  echo "SKIP: needs qemu-system-x86, cpio, busybox-static and linux-image-cloud-amd64"; exit 77
fi
kver=${kernel#/boot/vmlinuz-}
mods=/lib/modules/$kver/kernel/net/vmw_vsock
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,proc,sys,tmp,dev}
cp /bin/busybox "$root/bin/busybox"
for a in sh insmod sleep echo cat poweroff mount grep ifconfig; do ln -s busybox "$root/bin/$a"; done
strip -o "$root/bin/pf-proxy" "$proxy"
strip -o "$root/bin/pf-peer" "$peer"
for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do
  if [ -f "$mods/$m.ko" ]; then cp "$mods/$m.ko" "$root/$m.ko"
  elif [ -f "$mods/$m.ko.xz" ]; then xz -dc "$mods/$m.ko.xz" > "$root/$m.ko"
  else echo "SKIP: no $m module"; exit 77; fi
done
cat > "$root/init" <<'GUEST'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ifconfig lo 127.0.0.1 up
for m in vsock vmw_vsock_virtio_transport_common vsock_loopback; do insmod /$m.ko || echo "insmod $m failed"; done
cd /tmp
pf-peer echo tcp:127.0.0.1:7000 > echo.log &
pf-proxy forward --listen vsock:any:7100 --connect tcp:127.0.0.1:7000 2> v2t.log &
pf-proxy forward --listen tcp:127.0.0.1:7200 --connect vsock:1:7100 2> t2v.log &
# transparent header over vsock: ingress (tcp) → vsock dialer → 127.0.0.1:SAME_PORT (the echo)
pf-proxy forward --mode dialer --listen vsock:any:7300 --dial-host 127.0.0.1 --allow '*:7000' 2> dialer.log &
sleep 1
pf-proxy forward --mode ingress --listen tcp:127.0.0.2:0 --port 7000 --connect vsock:1:7300 2> ingress.log &
sleep 1
r=ok
pf-peer check tcp:127.0.0.1:7200 --count 100 --max 100000 --concurrency 50 || r=fail
echo "tcp->vsock->tcp: $r"
s=ok
pf-peer check vsock:1:7100 --count 20 --max 200000 --concurrency 10 || s=fail
echo "vsock client->vsock->tcp: $s"
t=ok
pf-peer check tcp:127.0.0.2:7000 --count 20 --max 50000 --concurrency 10 || t=fail
echo "ingress over vsock: $t"
pf-peer check tcp:127.0.0.1:7200 --size 16777216 --count 1 || r=fail
cat v2t.log t2v.log dialer.log ingress.log
[ "$r$s$t" = okokok ] && echo PFPROXY-VSOCK-PASS || echo PFPROXY-VSOCK-FAIL
poweroff -f
GUEST
chmod +x "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$work/initrd"
timeout 300 qemu-system-x86_64 -M pc -m 1024 -smp 2 -nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd" \
  -append "console=ttyS0 panic=-1 quiet" > "$work/console" 2>&1 || true
tr -d '\r' < "$work/console" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' > "$work/console.txt"
grep -E "ok=|->|over vsock|PFPROXY" "$work/console.txt" || true
if ! grep -q PFPROXY-VSOCK-PASS "$work/console.txt"; then
  echo "FAIL: guest did not pass"; tail -40 "$work/console.txt"; exit 1
fi
echo "vsock under QEMU: both directions passed"
