#!/usr/bin/env bash
# The default image, built from the committed spec and lock, boots under QEMU
# into our init, which starts the configured services (pf-proxy, ra-web-srv,
# fs-monitor, hello) and, on
# ctrl-alt-del from the QEMU monitor, stops them in order and ends the VM.
source "$(dirname "$0")/../integration/lib.sh"
cd "$SRC"
"$RBUILD" build specs/default.yaml --lock lockfiles/default.lock.json -o "$TMP/out" --cache "$TMP/cache" >/dev/null
# The README's own image rebuilds bit for bit from its provenance.
"$RBUILD" verify "$TMP/out/default.eif" --rebuild --cache "$TMP/cache" > "$TMP/verify.txt" ||
  fail "verify --rebuild of the default image: $(cat "$TMP/verify.txt")"
"$RBUILD" extract "$TMP/out/default.eif" "$TMP/x" >/dev/null
log="$TMP/console.log"
# ef.local: no Nitro host at vsock CID 3, so no heartbeat.
timeout 150 qemu-system-x86_64 -machine pc -cpu max -m 512 -smp 2 -nographic -no-reboot \
  -monitor unix:"$TMP/mon",server,nowait \
  -kernel "$TMP/x/kernel" -initrd "$TMP/x/initrd" -append "$(cat "$TMP/x/cmdline") ef.local" </dev/null >"$log" 2>&1 &
qemu=$!
wait_for() {  # PATTERN SECONDS
  for _ in $(seq 1 $(( $2 * 10 ))); do grep -q -- "$1" "$log" && return 0; sleep 0.1; done
  fail "no '$1' on the console within $2 s: $(tail -25 "$log")"
}
wait_for 'Run /init as init process' 60
wait_for 'init: switched root to /rootfs' 30
wait_for 'init: started service pf-proxy' 30
wait_for 'init: service pf-proxy is ready' 30
wait_for 'hello from the enclave' 30
wait_for 'init: system up in' 30
# ra-web-srv: TLS listeners up (init's TCP probe), the simulated NSM (no /dev/nsm
# under QEMU); fs-monitor: dynamically linked, so this also proves the image
# carries its loader and libraries; it scans and feeds ra-web-srv's file index.
wait_for 'init: service ra-web-srv is ready' 60
wait_for 'using the SIMULATED NSM' 10
wait_for '"msg":"listening","on":"https 127.0.0.1:8443, https vsock:8443"' 30
wait_for 'init: started service fs-monitor' 30
wait_for 'file index: fs-monitor connected' 30
wait_for 'fs-monitor: initial scan done' 90
# ef-agent: the attested channel's enclave end, listening on vsock 7000 (init's vsock probe).
wait_for 'init: service ef-agent is ready' 60
wait_for '"msg":"listening","endpoint":"vsock:any:7000"' 10
! grep -a "^init: error\|error while loading shared libraries\|ra-web-srv: error" "$log" ||
  fail "errors while booting the default image: $(grep -a 'error' "$log" | head -5)"
! grep -a "init: restarting service" "$log" || fail "a service of the default image had to be restarted"
pass "booted into init; modules loaded; pf-proxy ready; hello ran; ra-web-srv serving; fs-monitor feeding it"
# ctrl-alt-del reaches init as SIGINT: orderly shutdown, then reboot (QEMU exits: -no-reboot).
printf 'sendkey ctrl-alt-delete\n' | socat - UNIX-CONNECT:"$TMP/mon" >/dev/null 2>&1 || true
wait "$qemu" || true
grep -q 'init: stopping service pf-proxy\|init: service pf-proxy exited\|init: service pf-proxy killed' "$log" ||
  fail "pf-proxy was not stopped in an orderly shutdown: $(tail -25 "$log")"
grep -q 'reboot: Restarting system\|reboot: Power down' "$log" || fail "the VM did not end cleanly: $(tail -15 "$log")"
pass "orderly shutdown on request"
