# Shared helpers for the QEMU tests of init: build nitro-cli style ramdisks
# (ramdisk 1: init + dev/; ramdisk 2: rootfs/ + cmd + env) and boot them.
# Source this file; it needs INIT (static init) and INITCTL (static initctl).

kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
if [ -z "$kernel" ] || ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null; then
  echo "SKIP: needs qemu-system-x86, cpio and linux-image-cloud-amd64"
  exit 77
fi
kver=${kernel#/boot/vmlinuz-}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# new_image: fresh ramdisk trees in $work/r1 and $work/r2 with busybox + initctl.
new_image() {
  rm -rf "$work/r1" "$work/r2"
  mkdir -p "$work/r1/dev" "$work/r2/rootfs"/{bin,etc,tmp,proc,sys,dev,run,lib/modules}
  cp "$INIT" "$work/r1/init"
  cp /bin/busybox "$work/r2/rootfs/bin/busybox"
  for a in sh sleep echo cat ls id hostname touch kill insmod httpd; do ln -s busybox "$work/r2/rootfs/bin/$a"; done
  cp "$INITCTL" "$work/r2/rootfs/bin/initctl"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$work/r2/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/r2/rootfs/etc/group"
}

# boot APPEND_EXTRA [SECONDS]: packs both ramdisks, boots them (for at most SECONDS,
# default 120), leaves the console in $work/console.
boot() {
  (cd "$work/r1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$work/rd1"
  (cd "$work/r2" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$work/rd2"
  cat "$work/rd1" "$work/rd2" >"$work/initrd"
  timeout "${2:-120}" qemu-system-x86_64 -M pc -m 512 -nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd" \
    -append "console=ttyS0 panic=-1 quiet $1" >"$work/console" 2>&1 || true
  # Drop carriage returns and the firmware's terminal escapes (clear screen etc.).
  tr -d '\r' <"$work/console" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' >"$work/console.txt"
}

# expect_line PATTERN: the console has a line matching the extended regex.
expect_line() {
  if ! grep -Eq -- "$1" "$work/console.txt"; then
    echo "FAIL: console has no line matching: $1"
    echo "---- console ----"
    cat "$work/console.txt"
    exit 1
  fi
}

# line_no PATTERN: number of the first console line matching.
line_no() { grep -En -- "$1" "$work/console.txt" | head -1 | cut -d: -f1; }

# expect_before A B: the first line matching A comes before the first matching B.
expect_before() {
  local a b
  a=$(line_no "$1")
  b=$(line_no "$2")
  if [ -z "$a" ] || [ -z "$b" ] || [ "$a" -ge "$b" ]; then
    echo "FAIL: expected '$1' (line ${a:-none}) before '$2' (line ${b:-none})"
    cat "$work/console.txt"
    exit 1
  fi
}
