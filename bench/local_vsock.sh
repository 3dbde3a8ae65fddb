#!/usr/bin/env bash
# Throughput of local mode's vsock bridge: 256 MiB host → guest through the
# hybrid-vsock handshake LocalBackend::connect() performs ("CONNECT <port>"),
# into a guest sink (pf-peer sink on vsock:any:5100) on QEMU microvm (TCG
# here), against a baseline in the same run: the same bytes into socat over a
# host unix socket (no guest). Prints MB/s for both and the ratio.
# usage: bench/local_vsock.sh BUILD_DIR [MiB]   (needs ef-vsock-bridge, static pf-peer)
set -euo pipefail
build=$(realpath "${1:?build dir}"); mib=${2:-256}
bridge=$build/engine/local/ef-vsock-bridge; peer=$build/netproxy/pf-peer
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -1)
mods=/lib/modules/${kernel#/boot/vmlinuz-}/kernel
work=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
root=$work/root; mkdir -p "$root"/{bin,proc,sys,tmp,dev}
cp /bin/busybox "$root/bin/busybox"; for a in sh insmod mount sleep echo; do ln -s busybox "$root/bin/$a"; done
strip -o "$root/bin/pf-peer" "$peer"
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio net/vmw_vsock/vsock \
         net/vmw_vsock/vmw_vsock_virtio_transport_common net/vmw_vsock/vmw_vsock_virtio_transport; do cp "$mods/$m.ko" "$root/"; done
cat > "$root/init" <<'GUEST'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_mmio vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport; do insmod /$m.ko; done
pf-peer sink vsock:any:5100 &
sleep 1
echo "BLAST $(pf-peer blast vsock:3:5200 --bytes BYTES)"
echo GUEST-READY; sleep 100000
GUEST
sed -i "s/BYTES/$((mib << 20))/" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$work/initrd"
khz=$(python3 -c 'import re,subprocess;print(int(float(re.search(r"tsc: (?:Refined TSC clocksource calibration|Detected) ([0-9.]+) MHz",subprocess.run(["dmesg"],capture_output=True,text=True).stdout).group(1))*1000))' 2>/dev/null || echo 2000000)
# Host sink for the guest → host direction: read to EOF, answer one byte.
python3 - "$work/v.sock_5200" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
while c.recv(1 << 20): pass
c.sendall(b"k")
PY
pids+=($!)
"$bridge" --vhost-user "$work/vu.sock" --uds "$work/v.sock" --guest-cid 30 > "$work/bridge.log" 2>&1 & pids+=($!)
bridge_pid=$!
for _ in $(seq 50); do [ -S "$work/vu.sock" ] && break; sleep 0.1; done
qemu-system-x86_64 -M microvm -cpu max,+invtsc -m 512 -smp 2 -display none -no-reboot \
  -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
  -chardev socket,id=vs,path="$work/vu.sock" -device vhost-user-vsock-device,chardev=vs \
  -kernel "$kernel" -initrd "$work/initrd" -serial file:"$work/console" \
  -append "console=ttyS0 quiet tsc_early_khz=$khz tsc=reliable" </dev/null >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 3000); do grep -q GUEST-READY "$work/console" 2>/dev/null && break; sleep 0.1; done
grep -q GUEST-READY "$work/console" || { echo "guest did not boot"; tail "$work/console"; exit 1; }
grep -a '^BLAST ' "$work/console" | sed 's/^BLAST /guest -> host through ef-vsock-bridge (guest pf-peer blast): /'
socat -u UNIX-LISTEN:"$work/base.sock" OPEN:/dev/null & pids+=($!)
sleep 0.5
python3 - "$work/v.sock" "$work/base.sock" "$mib" "$bridge_pid" <<'PY'
import socket, sys, time
mib = int(sys.argv[3]); chunk = b"x" * (1 << 20)
def send(path, handshake):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    if handshake:
        s.sendall(b"CONNECT 5100\n"); line = b""
        while not line.endswith(b"\n"): line += s.recv(1)
        assert line.startswith(b"OK "), line
    t0 = time.monotonic()
    for _ in range(mib): s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the sink's "k" after EOF (bridge); EOF (socat)
    return mib * 1048576 / (time.monotonic() - t0) / 1e6
def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0
bpid = int(sys.argv[4])
c0 = cpu(bpid)
bridge = send(sys.argv[1], True)
print("bridge CPU for the host -> guest run: %.2f s" % (cpu(bpid) - c0))
base = send(sys.argv[2], False)
print("host -> guest through ef-vsock-bridge (TCG guest sink): %.1f MB/s" % bridge)
print("baseline, socat over a host unix socket:                %.1f MB/s" % base)
print("ratio bridge/baseline: %.3f" % (bridge / base))
PY
