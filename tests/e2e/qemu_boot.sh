# qemu_boot EXTRACTED_DIR LOG [TIMEOUT]: boots an extracted EIF (kernel, cmdline,
# initrd) as Nitro would lay it out, under TCG, console on the log.
qemu_boot() {
  local dir=$1 log=$2 limit=${3:-120}
  timeout "$limit" qemu-system-x86_64 -machine pc -cpu max -m 512 -smp 2 -nographic -no-reboot \
    -kernel "$dir/kernel" -initrd "$dir/initrd" -append "$(cat "$dir/cmdline")" </dev/null >"$log" 2>&1 || true
}
