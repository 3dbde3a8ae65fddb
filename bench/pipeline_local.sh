#!/usr/bin/env bash
# pipeline on the local backend (QEMU; TCG here), the default image:
#   1. `pipeline cp` of N MiB into the enclave (attested TLS channel to ef-agent,
#      whole command timed) against pf-proxy moving the same bytes over the same
#      transport: host pf-peer blast → host pf-proxy (tcp → hvsock:) → the
#      bridge → a pf-peer sink in the guest (copied in and started by
#      `pipeline exec`). Both ride on ef-vsock-bridge. Ratio = cp / pf-proxy.
#   2. exec round trip: `pipeline exec ENCLAVE -- echo -n` (the image has no `true` applet), whole command (connect,
#      TLS 1.3 + attestation check + operator auth, exec, exit status), p50/p99.
#   3. boot to healthy (`pipeline run --wait`, health = ra-web-srv's vsock 8443
#      accepting through the bridge) against a bare boot of the same image
#      (`ef-local launch` until the same port accepts through `ef-local connect`).
# Prints the machine's load before and after (numbers on a shared machine).
# usage: bench/pipeline_local.sh BUILD_DIR [MiB] [exec runs]
set -euo pipefail
build=$(realpath "${1:?build dir}"); mib=${2:-64}; runs=${3:-30}
src=$(cd "$(dirname "$0")/.." && pwd)
P=$build/engine/pipeline; EL=$build/engine/local/ef-local; peer=$build/netproxy/pf-peer
for b in "$P" "$build/engine/enclaved" "$EL" "$peer" "$build/netproxy/pf-proxy"; do
  [ -x "$b" ] || { echo "missing $b" >&2; exit 1; }
done
work=$(mktemp -d /tmp/ef-bench-XXXXXX)
export ENCLAVED_SOCKET=$work/api.sock
cleanup() {
  "$P" rm -f bench >/dev/null 2>&1 || true
  [ -f "$work/bare.json" ] && "$EL" terminate "$work/bare.json" --grace-ms 500 >/dev/null 2>&1 || true
  for p in $(pgrep -f -- "$work" || true); do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
cd "$src"
"$build/builder/rbuild" build specs/default.yaml --lock lockfiles/default.lock.json -o "$work/out" --cache "$work/cache" >/dev/null
eif=$work/out/default.eif
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

# ---- 3a. bare boot: LocalBackend alone, until vsock 8443 accepts ----------
mkdir -m 700 "$work/bare"
t0=$(now)
"$EL" launch "$eif" --name bench-bare --state-dir "$work/bare" --memory 512 --cpus 2 --accel tcg \
  --registry "$work/reg" --handle "$work/bare.json" >/dev/null
until timeout 2 "$EL" connect "$work/bare.json" 8443 </dev/null >/dev/null 2>&1; do sleep 0.2; done
t1=$(now)
"$EL" terminate "$work/bare.json" --grace-ms 2000 >/dev/null; rm -f "$work/bare.json"
bare=$(calc "round($t1-$t0,2)")

# ---- 3b. boot to healthy through enclaved ----------------------------------
"$build/engine/enclaved" --backend local --accel tcg --detach --state-dir "$work/state" --socket "$ENCLAVED_SOCKET" \
  --local-registry "$work/reg" --poll-interval-ms 200
t0=$(now)
"$P" run "$eif" --name bench --health-port 8443 --wait 300 >/dev/null
t1=$(now)
healthy=$(calc "round($t1-$t0,2)")
echo "boot: bare (ef-local launch → vsock 8443 accepts) ${bare} s; pipeline run --wait (→ healthy) ${healthy} s; ratio $(calc "round($healthy/$bare,2)")"

# ---- 2. exec round trip -----------------------------------------------------
: > "$work/rt"
for _ in $(seq "$runs"); do
  t0=$(now); "$P" exec bench -- echo -n; t1=$(now); calc "($t1-$t0)*1000" >> "$work/rt"
done
python3 - "$work/rt" <<'PY'
import sys
v = sorted(float(x) for x in open(sys.argv[1]))
pick = lambda q: v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
print(f"exec round trip ({len(v)} runs): p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, min {v[0]:.0f} ms")
PY

# ---- 1. cp vs pf-proxy over the same bridge -----------------------------------
head -c "${mib}M" /dev/urandom > "$work/blob"
"$P" cp "$peer" bench:/tmp/pf-peer
# (setsid, and time to reach it: ef-agent kills what an exec leaves in its
# process group when the exec ends)
"$P" exec bench -- sh -c 'chmod +x /tmp/pf-peer; busybox setsid /tmp/pf-peer sink vsock:any:5100 </dev/null >/tmp/sink.log 2>&1 & sleep 1'
t0=$(now); "$P" cp "$work/blob" bench:/tmp/blob; t1=$(now)
cp_s=$(calc "$t1-$t0")
# Under TCG every byte the guest touches costs emulated instructions: one
# sha256sum pass over the same bytes in the guest shows what its CPU manages
# (the cp's TLS decryption and tar extraction are at least that much work).
t0=$(now); "$P" exec bench -- sha256sum /tmp/blob >/dev/null; t1=$(now)
sha_s=$(calc "$t1-$t0")
"$P" exec bench -- rm -f /tmp/blob
uds=$(python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)[0]["handle"]["attach"])["uds"])' < <("$P" inspect bench))
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/pf.yaml" <<EOF
forwards:
  - name: bench
    mode: forward
    listen: "tcp:127.0.0.1:$port"
    connect: "hvsock:$uds:5100"
EOF
"$build/netproxy/pf-proxy" run --config "$work/pf.yaml" > "$work/pf.log" 2>&1 &
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
# The sink starts in the background of an exec that has returned: wait until
# the guest port accepts through the bridge.
for _ in $(seq 100); do
  [ "$(printf 'CONNECT 5100\n' | socat -T 2 - "UNIX-CONNECT:$uds" 2>/dev/null | head -c 3)" = "OK " ] && break
  sleep 0.2
done
out=$("$peer" blast "tcp:127.0.0.1:$port" --bytes $((mib << 20)) --streams 1)
case $out in *failures=0*) ;; *) echo "blast failed: $out; pf-proxy: $(tail -3 "$work/pf.log"); guest: $("$P" exec bench -- ps 2>&1 | grep pf-peer)" >&2; exit 1;; esac
pf_s=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
echo "throughput ($mib MiB host → enclave): pipeline cp $(calc "round($mib/$cp_s,1)") MiB/s (whole command, $(calc "round($cp_s,2)") s);" \
     "pf-proxy over the same bridge $(calc "round($mib/$pf_s,1)") MiB/s ($out); ratio $(calc "round($pf_s/$cp_s,2)")"
echo "guest CPU reference: sha256sum of the $mib MiB inside the guest $(calc "round($sha_s,2)") s ($(calc "round($mib/$sha_s,1)") MiB/s, exec included)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
