#!/usr/bin/env bash
# The Linux kernel's initramfs unpacker reads rbuild's cpio as intended: hard
# links (data stored once, on the last link of a group), symlinks, setuid and
# restrictive modes, empty files, deep paths, mtimes — checked from inside the
# booted kernel by a busybox /init that is itself reached through a hard link.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/qemu_boot.sh"
PACK="$BUILD/builder/cpio_pack_bench"  # directory layer -> FsTree -> write_cpio (mtime 0)
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort | tail -1)
[ -n "$kernel" ] || fail "no kernel in /boot (scripts/setup installs linux-image-cloud-amd64)"

r=$TMP/root
mkdir -p "$r/bin" "$r/a/b/c"
cp /bin/busybox "$r/bin/busybox"
ln "$r/bin/busybox" "$r/bin/sh"
ln "$r/bin/busybox" "$r/bin/zz-last-link"
printf 'payload\n' > "$r/a/b/c/data"
ln "$r/a/b/c/data" "$r/a/linked"
ln -s ../a/b/c/data "$r/bin/data-link"
: > "$r/empty"
printf "x" > "$r/a/suid"
: > "$r/a/suid-empty"
bb_sha=$(sha256sum /bin/busybox | cut -c1-64)
cat > "$r/init" <<INIT
#!/bin/sh
bb=/bin/busybox
\$bb mkdir -p /dev && \$bb mount -t devtmpfs devtmpfs /dev && exec >/dev/ttyS0 2>&1
failed=0
check() { if [ "\$2" != "\$3" ]; then echo "CPIO-CHECK-FAILED \$1: got '\$2', want '\$3'"; failed=1; fi; }
check "inode shared"     "\$(\$bb stat -c %i /bin/busybox)" "\$(\$bb stat -c %i /bin/zz-last-link)"
check "inode shared 2"   "\$(\$bb stat -c %i /bin/busybox)" "\$(\$bb stat -c %i /bin/sh)"
check "link count"       "\$(\$bb stat -c %h /bin/sh)" 3
check "busybox content"  "\$(\$bb sha256sum /bin/busybox | \$bb cut -c1-64)" "$bb_sha"
check "linked content"   "\$(\$bb cat /a/linked)" payload
check "data links"       "\$(\$bb stat -c %h /a/b/c/data)" 2
check "setuid, linked"   "\$(\$bb stat -c %a /a/b/c/data)" 4711
check "setuid"           "\$(\$bb stat -c %a /a/suid)" 4755
check "suid, empty file" "\$(\$bb stat -c %a /a/suid-empty)" 4755
check "dir mode"         "\$(\$bb stat -c %a /a/b)" 700
check "symlink"          "\$(\$bb readlink /bin/data-link)" ../a/b/c/data
check "empty size"       "\$(\$bb stat -c %s /empty)" 0
check "file mtime"       "\$(\$bb stat -c %Y /a/linked)" 0
check "dir mtime"        "\$(\$bb stat -c %Y /a/b)" 0
check "owner"            "\$(\$bb stat -c %u:%g /a/linked)" 0:0
[ \$failed = 0 ] && echo CPIO-KERNEL-OK
\$bb poweroff -f
INIT
chmod 0755 "$r/init" "$r/bin/busybox"
chmod 4711 "$r/a/b/c/data"
chmod 4755 "$r/a/suid" "$r/a/suid-empty"
chmod 0700 "$r/a/b"

mkdir -p "$TMP/x"
cp "$kernel" "$TMP/x/kernel"
"$PACK" "$r" "$TMP/x/initrd" >/dev/null
echo "console=ttyS0 rdinit=/init panic=-1 reboot=k pci=off" > "$TMP/x/cmdline"
qemu_boot "$TMP/x" "$TMP/console.log" 120
grep -q CPIO-CHECK-FAILED "$TMP/console.log" && fail "$(grep CPIO-CHECK-FAILED "$TMP/console.log")"
grep -q 'CPIO-KERNEL-OK' "$TMP/console.log" || fail "the checks did not run: $(tail -20 "$TMP/console.log")"
pass "the kernel unpacks rbuild's cpio with hard links, symlinks, modes and mtimes intact"
