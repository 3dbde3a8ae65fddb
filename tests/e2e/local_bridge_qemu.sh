#!/usr/bin/env bash
# ef-vsock-bridge under a real guest: Debian's cloud kernel on QEMU's microvm
# machine (virtio-mmio found through ACPI, the modules loaded by hand as the
# default image's init does), a vhost-user-vsock-device served by the bridge.
#   host → guest: "CONNECT 5000" on the bridge socket → guest pf-proxy vsock:any:5000 → echo
#   guest → host: guest pf-peer → pf-proxy tcp:7100 → vsock:3:6000 → bridge → UDS_6000 (host echo)
# usage: local_bridge_qemu.sh EF_VSOCK_BRIDGE PF_PROXY PF_PEER   (pf-* static)
set -euo pipefail
bridge=$(realpath "$1"); proxy=$(realpath "$2"); peer=$(realpath "$3")
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1 || true)
for t in qemu-system-x86_64 cpio socat python3; do
  command -v $t >/dev/null || { echo "FAIL: needs $t (scripts/setup installs it)"; exit 1; }
done
[ -n "$kernel" ] && [ -x /bin/busybox ] || { echo "FAIL: needs linux-image-cloud-amd64 and busybox-static"; exit 1; }
kver=${kernel#/boot/vmlinuz-}
mods=/lib/modules/$kver/kernel
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; echo "kept $work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,proc,sys,tmp,dev}
cp /bin/busybox "$root/bin/busybox"
for a in sh insmod sleep echo cat poweroff mount ifconfig; do ln -s busybox "$root/bin/$a"; done
strip -o "$root/bin/pf-proxy" "$proxy"
strip -o "$root/bin/pf-peer" "$peer"
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio net/vmw_vsock/vsock \
         net/vmw_vsock/vmw_vsock_virtio_transport_common net/vmw_vsock/vmw_vsock_virtio_transport; do
  cp "$mods/$m.ko" "$root/"
done
cat > "$root/init" <<'GUEST'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ifconfig lo 127.0.0.1 up
for m in virtio_ring virtio virtio_mmio vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport; do
  insmod /$m.ko || echo "insmod $m failed"
done
cd /tmp
pf-peer echo tcp:127.0.0.1:7000 > echo.log 2>&1 &
pf-proxy forward --listen vsock:any:5000 --connect tcp:127.0.0.1:7000 2> in.log &
pf-proxy forward --listen tcp:127.0.0.1:7100 --connect vsock:3:6000 2> out.log &
echo GUEST-READY
sleep 2
r=ok
pf-peer check tcp:127.0.0.1:7100 --count 20 --max 200000 --concurrency 4 || r=fail
pf-peer check tcp:127.0.0.1:7100 --size 4194304 --count 1 || r=fail
echo "guest->host: $r"
sleep 600
GUEST
chmod +x "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$work/initrd"

tsc_khz=$(python3 -c 'import re;print(int(float(re.search(r"tsc: (?:Refined TSC clocksource calibration|Detected) ([0-9.]+) MHz",open("/dev/stdin").read()).group(1))*1000))' < <(dmesg 2>/dev/null || journalctl -k 2>/dev/null) 2>/dev/null || echo 2000000)
# Host echo for the guest → host direction: the bridge connects guest port 6000 to UDS_6000.
socat UNIX-LISTEN:"$work/v.sock_6000",fork EXEC:cat &
pids+=($!)
"$bridge" --vhost-user "$work/vu.sock" --uds "$work/v.sock" --guest-cid 21 > "$work/bridge.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/vu.sock" ] && break; sleep 0.1; done
qemu-system-x86_64 -M microvm -cpu max,+invtsc -m 256 -smp 1 -nographic -no-reboot \
  -object memory-backend-memfd,id=mem,size=256M,share=on -machine memory-backend=mem \
  -chardev socket,id=vs,path="$work/vu.sock" -device vhost-user-vsock-device,chardev=vs \
  -kernel "$kernel" -initrd "$work/initrd" \
  -append "console=ttyS0 panic=-1 quiet tsc_early_khz=$tsc_khz tsc=reliable" > "$work/console" 2>&1 </dev/null &
qemu=$!
pids+=($qemu)
wait_for() {  # PATTERN SECONDS
  for _ in $(seq 1 $(( $2 * 10 ))); do grep -q -- "$1" "$work/console" && return 0; sleep 0.1; done
  echo "FAIL: no '$1' on the console within $2 s"; tail -30 "$work/console"; echo "--- bridge"; cat "$work/bridge.log"; exit 1
}
wait_for GUEST-READY 180
sleep 1
# host → guest: the CONNECT handshake, then an echo of 1 MiB of random bytes.
python3 - "$work/v.sock" <<'PY'
import os, socket, sys, hashlib, time
def connect(port):
    for _ in range(50):
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b: break
            line += b
        if line.startswith(b"OK "): return s, line
        s.close(); time.sleep(0.2)
    raise SystemExit("FAIL: no OK for port %d (last: %r)" % (port, line))
s, line = connect(5000)
data = os.urandom(1 << 20)
import threading
t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR))); t.start()
got = bytearray()
while True:
    b = s.recv(1 << 16)
    if not b: break
    got += b
t.join()
if bytes(got) != data: raise SystemExit("FAIL: echo mismatch: %d of %d bytes" % (len(got), len(data)))
print("host->guest: %s echo of 1 MiB ok" % line.decode().strip())
# a port nobody listens on in the guest: the bridge closes without OK
r = socket.socket(socket.AF_UNIX); r.connect(sys.argv[1]); r.sendall(b"CONNECT 5999\n")
if r.recv(64) != b"": raise SystemExit("FAIL: port 5999 should be refused")
print("host->guest: refused port closes the stream")
PY
wait_for 'guest->host: ' 120
grep -q 'guest->host: ok' "$work/console" || { echo "FAIL: guest->host"; tail -30 "$work/console"; cat "$work/bridge.log"; exit 1; }
echo "guest->host: pf-peer through vsock:3:6000 → UDS_6000 ok"
echo PASS
