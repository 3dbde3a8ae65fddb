#!/rootfs/bin/busybox sh
# A minimal shell-script init with the duties of AWS's stock init (mount,
# load nsm.ko, run /cmd with /env inside /rootfs, power off). Images use
# runtime/init; this script is the baseline it is benchmarked against.
bb=/rootfs/bin/busybox
$bb mount -t devtmpfs devtmpfs /rootfs/dev
exec 0</rootfs/dev/console 1>/rootfs/dev/console 2>&1
$bb mount -t proc proc /rootfs/proc
$bb mount -t sysfs sysfs /rootfs/sys
$bb mount -t tmpfs tmpfs /rootfs/tmp
[ -f /nsm.ko ] && $bb insmod /nsm.ko
set --
while IFS= read -r arg; do set -- "$@" "$arg"; done < /cmd
while IFS= read -r kv; do export "$kv"; done < /env
echo "minimal-init: running $*"
$bb chroot /rootfs "$@"
echo "minimal-init: command exited with status $?"
$bb sync
$bb poweroff -f
