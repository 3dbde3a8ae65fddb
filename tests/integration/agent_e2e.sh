#!/usr/bin/env bash
# ef-agent end to end on the host: the real agent on TCP with the simulated NSM
# (PCRs from a kernel-command-line file), driven by ef-agent-client. Checks are
# made with independent tools (sha256sum, diff, stat, python3 tarfile, openssl).
. "$(dirname "$0")/lib.sh"
AGENT="$BUILD/runtime/agent/ef-agent"
CLIENT="$BUILD/runtime/agent/ef-agent-client"
SECRETS=/dev/shm/ef-agent-test-$$   # must be a tmpfs
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP" "$SECRETS"; }
trap cleanup EXIT
[ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || fail "/dev/shm must be a tmpfs for the secret test"

free_port() { python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
hex() { python3 -c "print('$1'*48)"; }
P0=$(hex 0a) P1=$(hex 1b) P2=$(hex 2c)
echo "BOOT_IMAGE=vmlinuz console=ttyS0 ef.pcr0=$P0 ef.pcr1=$P1 ef.pcr2=$P2 quiet" >"$TMP/cmdline"
printf '{"HashAlgorithm":"Sha384 { ... }","PCR0":"%s","PCR1":"%s","PCR2":"%s"}\n' "$P0" "$P1" "$P2" >"$TMP/pcrs.json"
printf '{"HashAlgorithm":"Sha384 { ... }","PCR0":"%s","PCR1":"%s","PCR2":"%s"}\n' "$(hex ff)" "$P1" "$P2" >"$TMP/wrong.json"

openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey -out "$TMP/op.pem"
openssl ecparam -name secp384r1 -genkey -noout 2>/dev/null | openssl pkey -out "$TMP/other.pem"
chmod 600 "$TMP/op.pem" "$TMP/other.pem"
openssl pkey -in "$TMP/op.pem" -pubout -out "$TMP/op.pub"
OTHER_FP="sha256:$(openssl pkey -in "$TMP/other.pem" -pubout -outform DER | sha256sum | cut -d' ' -f1)"
mkdir -p "$TMP/logs" "$TMP/state" "$TMP/in" "$TMP/out" "$TMP/outside"

# start_agent NAME EXTRA_YAML: writes $TMP/NAME.yaml, starts the agent, sets PORT_NAME.
start_agent() {
  local name=$1 extra=$2 port; port=$(free_port)
  {
    echo "listen: [tcp:127.0.0.1:$port]"
    echo "nsm: {mode: simulated, state_dir: $TMP/state, pcrs_from: cmdline, cmdline_file: $TMP/cmdline}"
    echo "operators:"
    echo "  - |"; sed 's/^/    /' "$TMP/op.pub"
    echo "log_dir: $TMP/logs"
    echo "secret_dir: $SECRETS"
    echo "log: {format: json}"
    printf '%s\n' "$extra"
  } >"$TMP/$name.yaml"
  "$AGENT" --config "$TMP/$name.yaml" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q '"listening"' "$TMP/$name.log" 2>/dev/null && break; sleep 0.05; done
  grep -q '"listening"' "$TMP/$name.log" || fail "agent $name did not start: $(cat "$TMP/$name.log")"
  eval "PORT_$name=$port"
}
start_agent main ""
ROOT="$TMP/state/ca/dev-root.pem"
c() { "$CLIENT" --connect "tcp:127.0.0.1:$PORT_main" --root "$ROOT" --pcrs "$TMP/pcrs.json" --key "$TMP/op.pem" "$@"; }
requests() { grep -c '"msg":"request"' "$TMP/main.log" || true; }

# attest: the PCRs the simulated NSM reports are those of the command line.
c attest --json >"$TMP/attest.json"
python3 - "$TMP/attest.json" "$P0" "$P1" "$P2" <<'PY' || fail "attest output"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["verified"] and j["pcrs"]["0"] == sys.argv[2] and j["pcrs"]["1"] == sys.argv[3] and j["pcrs"]["2"] == sys.argv[4], j
PY
pass "attest reports the command line's PCRs"

# exec: output, stderr, exit status, signals, stdin, cwd, env.
[ "$(c exec -- sh -c 'echo out; echo err >&2; exit 7' 2>"$TMP/err")" = out ] || fail "exec stdout"
rc=0; c exec -- sh -c 'exit 7' || rc=$?; [ $rc = 7 ] || fail "exit status $rc, expected 7"
[ "$(cat "$TMP/err")" = err ] || fail "exec stderr"
rc=0; c exec -- sh -c 'kill -9 $$' || rc=$?; [ $rc = 137 ] || fail "killed by SIGKILL: status $rc, expected 137"
[ "$(printf 'a\nb\n' | c exec -i -- sh -c 'tr a-z A-Z')" = "$(printf 'A\nB')" ] || fail "exec stdin"
[ "$(c exec -w /tmp -e FOO=bar -- sh -c 'echo $PWD $FOO')" = "/tmp bar" ] || fail "exec cwd/env"
expect_fail "cannot run /no/such/program" c exec -- /no/such/program
# -t: a pseudo-terminal (the pty turns \n into \r\n); without it, pipes.
[ "$(c exec -t -- sh -c 'test -t 0 && test -t 1 && echo tty; stty size' | tr -d '\r')" = "$(printf 'tty\n24 80')" ] ||
  fail "exec -t: no terminal"
[ "$(c exec -- sh -c 'test -t 1 || echo notty')" = notty ] || fail "exec without -t has a terminal"
head -c 3000000 /dev/urandom >"$TMP/stdin.bin"
c exec -i -- cat <"$TMP/stdin.bin" >"$TMP/stdout.bin"
cmp "$TMP/stdin.bin" "$TMP/stdout.bin" || fail "3 MB through stdin and back"
pass "exec: output, status (128+n), stdin, cwd, env"

# The child dies with the connection.
"$CLIENT" --connect "tcp:127.0.0.1:$PORT_main" --root "$ROOT" --pcrs "$TMP/pcrs.json" --key "$TMP/op.pem" \
  exec -- sh -c "echo \$\$ >$TMP/child.pid; exec sleep 300" &
CPID=$!
for _ in $(seq 100); do [ -s "$TMP/child.pid" ] && break; sleep 0.05; done
kill -9 $CPID; wait $CPID 2>/dev/null || true
CHILD=$(cat "$TMP/child.pid")
for _ in $(seq 100); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.05; done
kill -0 "$CHILD" 2>/dev/null && fail "exec child $CHILD survived the dropped connection"
pass "exec child killed when the connection drops"

# cp: 64 MiB file and a tree, in and out.
head -c 64M /dev/urandom >"$TMP/big"
mkdir -p "$TMP/tree/a/b" "$TMP/tree/empty"
echo one >"$TMP/tree/a/b/f"; printf '%s' "$(seq 1000)" >"$TMP/tree/top"; ln -s ../top "$TMP/tree/a/link"
chmod 750 "$TMP/tree/a"; chmod 600 "$TMP/tree/a/b/f"
long="$TMP/tree/$(printf 'n%.0s' $(seq 150))"; echo long >"$long"
c cp-in "$TMP/big" "$TMP/in/"
c cp-in "$TMP/tree" "$TMP/in/tree"
c cp-out "$TMP/in/big" "$TMP/out/big"
c cp-out "$TMP/in/tree" "$TMP/out/"
want=$(sha256sum <"$TMP/big")
[ "$(sha256sum <"$TMP/in/big")" = "$want" ] || fail "64 MiB cp-in sha256"
[ "$(sha256sum <"$TMP/out/big")" = "$want" ] || fail "64 MiB cp-out sha256"
diff -r --no-dereference "$TMP/tree" "$TMP/in/tree" || fail "tree cp-in differs"
diff -r --no-dereference "$TMP/tree" "$TMP/out/tree" || fail "tree cp-out differs"
[ "$(readlink "$TMP/out/tree/a/link")" = ../top ] || fail "symlink kept"
[ "$(stat -c %a "$TMP/out/tree/a/b/f")" = 600 ] && [ "$(stat -c %a "$TMP/in/tree/a")" = 750 ] || fail "modes kept"
pass "cp: 64 MiB and a tree in and out, intact"

# Hostile tar streams: refused, naming the entry, nothing written outside.
python3 - "$TMP" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def make(name, members):
    with tarfile.open(f"{d}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
def f(name, data=b"evil\n"):
    i = tarfile.TarInfo(name); i.size = len(data); return (i, data)
def d_(name):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; return (i, None)
def l(name, target):
    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; return (i, None)
def dev(name):
    i = tarfile.TarInfo(name); i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; return (i, None)
make("dotdot", [d_("x"), f("x/../../outside/dotdot")])
make("absolute", [d_("x"), f(d + "/outside/absolute")])
make("symlink_abs", [d_("x"), l("x/link", d + "/outside"), f("x/link/via_abs")])
make("symlink_up", [d_("x"), l("x/link", "../../outside")])
make("through_link", [d_("x"), l("x/ok", "sub"), f("x/ok/../../escape")])
make("device", [d_("x"), dev("x/null")])
make("other_root", [d_("x"), f("y/file")])
PY
check_hostile() {
  local tar=$1 pattern=$2
  expect_fail "$pattern" c cp-in-tar "$TMP/$tar.tar" "$TMP/in/hostile_$tar"
  [ -z "$(ls -A "$TMP/outside")" ] || fail "$tar: something was written outside: $(ls -A "$TMP/outside")"
}
check_hostile dotdot 'refusing tar entry "x/\.\./\.\./outside/dotdot": "\.\." component'
check_hostile absolute 'refusing tar entry ".*outside/absolute": absolute path'
check_hostile symlink_abs 'refusing tar entry "x/link": symlink to an absolute path'
check_hostile symlink_up 'refusing tar entry "x/link": symlink target \.\./\.\./outside leaves the destination'
check_hostile through_link 'refusing tar entry "x/ok/\.\./\.\./escape"'
check_hostile device 'refusing tar entry "x/null": device nodes'
check_hostile other_root 'refusing tar entry "y/file": outside the copied tree'
# A symlink already on disk is never written through.
mkdir -p "$TMP/in/pre"; ln -s "$TMP/outside" "$TMP/in/pre/link"
python3 -c "
import io,tarfile,sys
with tarfile.open('$TMP/through_disk.tar','w',format=tarfile.PAX_FORMAT) as t:
    i=tarfile.TarInfo('pre'); i.type=tarfile.DIRTYPE; t.addfile(i)
    i=tarfile.TarInfo('pre/link/file'); i.size=5; t.addfile(i, io.BytesIO(b'evil\n'))"
expect_fail 'refusing tar entry "pre/link/file": its path goes through a symlink' c cp-in-tar "$TMP/through_disk.tar" "$TMP/in"
[ -z "$(ls -A "$TMP/outside")" ] || fail "written through an on-disk symlink"
c exec -- true || fail "the connection pool survives hostile tars"
pass "hostile tar streams refused, nothing outside the destination"

# logs: whole files, one service, and follow sees a line appended later.
printf 'first line\nsecond line\n' >"$TMP/logs/web.log"
printf 'db started\n' >"$TMP/logs/db.log"
[ "$(c logs web)" = "$(printf 'first line\nsecond line')" ] || fail "logs web"
c logs >"$TMP/all.out"
grep -qx 'db: db started' "$TMP/all.out" && grep -qx 'web: first line' "$TMP/all.out" || fail "logs (all) prefixes the service"
expect_fail "no log for service nosuch" c logs nosuch
"$CLIENT" --connect "tcp:127.0.0.1:$PORT_main" --root "$ROOT" --pcrs "$TMP/pcrs.json" --key "$TMP/op.pem" \
  logs -f web >"$TMP/follow.out" 2>&1 &
FPID=$!; PIDS+=($FPID)
for _ in $(seq 100); do grep -q 'second line' "$TMP/follow.out" && break; sleep 0.05; done
echo "appended later" >>"$TMP/logs/web.log"
for _ in $(seq 100); do grep -q 'appended later' "$TMP/follow.out" && break; sleep 0.05; done
grep -q 'appended later' "$TMP/follow.out" || fail "logs -f did not see the appended line: $(cat "$TMP/follow.out")"
kill $FPID
pass "logs, logs SERVICE, logs -f"

# secret put: lands in secret_dir (0700) as 0400, never in the agent's log.
SECRET_VALUE="s3cr3t-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$SECRET_VALUE" >"$TMP/secret.txt"
c secret put db-password "$TMP/secret.txt"
[ "$(cat "$SECRETS/db-password")" = "$SECRET_VALUE" ] || fail "secret content"
[ "$(stat -c %a "$SECRETS/db-password")" = 400 ] || fail "secret mode $(stat -c %a "$SECRETS/db-password")"
[ "$(stat -c %a "$SECRETS")" = 700 ] || fail "secret_dir mode"
expect_fail "secret name may hold only" c secret put ../evil "$TMP/secret.txt"
pass "secret put: 0400 in a 0700 tmpfs dir"

# Wrong expected PCRs: the client refuses after ATTESTATION and sends nothing more.
before=$(requests)
expect_fail "PCR0 mismatch: expected ffff.*, enclave reports 0a0a" \
  "$CLIENT" --connect "tcp:127.0.0.1:$PORT_main" --root "$ROOT" --pcrs "$TMP/wrong.json" --key "$TMP/op.pem" exec -- touch "$TMP/should_not_exist"
sleep 0.3
[ "$(requests)" = "$before" ] || fail "the agent saw a request from a client that should have refused"
[ ! -e "$TMP/should_not_exist" ] || fail "the command ran"
grep -q 'client closed after ATTESTATION without authenticating' "$TMP/main.log" || fail "agent log: no refusal trace"
# The AWS root instead of the dev root: the chain check fails, again before any request.
expect_fail "attestation refused: root" \
  "$CLIENT" --connect "tcp:127.0.0.1:$PORT_main" --root "$SRC/tests/vectors/aws_nitro_enclaves_root_g1.pem" \
  --pcrs "$TMP/pcrs.json" --key "$TMP/op.pem" exec -- true
[ "$(requests)" = "$before" ] || fail "a request after a chain failure"
pass "wrong PCRs: refused before any request"

# Unlisted operator key.
expect_fail "operator key $OTHER_FP is not listed in $TMP/main.yaml" \
  "$CLIENT" --connect "tcp:127.0.0.1:$PORT_main" --root "$ROOT" --pcrs "$TMP/pcrs.json" --key "$TMP/other.pem" exec -- true
chmod 644 "$TMP/other.pem"
expect_fail "accessible by others" \
  "$CLIENT" --connect "tcp:127.0.0.1:$PORT_main" --root "$ROOT" --pcrs "$TMP/pcrs.json" --key "$TMP/other.pem" exec -- true
pass "unlisted operator key refused"

# The secret never reached any log.
grep -q "$SECRET_VALUE" "$TMP/main.log" && fail "the secret value is in the agent's log"
pass "secret absent from logs"

# Features switched off in the (measured) config.
start_agent off "exec: false
copy: false
secrets: false
logs: false"
coff() { "$CLIENT" --connect "tcp:127.0.0.1:$PORT_off" --root "$ROOT" --pcrs "$TMP/pcrs.json" --key "$TMP/op.pem" "$@"; }
expect_fail "exec is disabled in $TMP/off.yaml \(exec: false\)" coff exec -- touch "$TMP/off_ran"
[ ! -e "$TMP/off_ran" ] || fail "disabled exec ran"
expect_fail "copying files in is disabled" coff cp-in "$TMP/tree" "$TMP/in/off_tree"
[ ! -e "$TMP/in/off_tree" ] || fail "disabled copy wrote"
expect_fail "copying files out is disabled" coff cp-out "$TMP/in/tree" "$TMP/out/off"
expect_fail "secret delivery is disabled" coff secret put x "$TMP/secret.txt"
expect_fail "reading logs is disabled" coff logs
coff attest >/dev/null || fail "attest works with everything else off"
pass "disabled features refused"

# Config errors name file:line: key.
printf 'listen: [tcp:127.0.0.1:1]\nbogus: 1\n' >"$TMP/bad.yaml"
expect_fail "bad.yaml:2.*bogus" "$AGENT" --config "$TMP/bad.yaml" --check
printf 'operators: ["sha256:12"]\n' >"$TMP/bad2.yaml"
expect_fail "bad2.yaml:1.*64 hex digits" "$AGENT" --config "$TMP/bad2.yaml" --check
pass "config errors"
