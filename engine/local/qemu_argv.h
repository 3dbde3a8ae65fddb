#pragma once
// The QEMU command line of a local enclave, as a pure function of its
// configuration (unit-tested), and the host facts that choose it.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ef::engine::local {

enum class Accel { kvm, tcg };
enum class VsockTransport {
  bridge,       ///< vhost-user-vsock-device served by ef-vsock-bridge (any host)
  vhost_vsock,  ///< the kernel's /dev/vhost-vsock with a real CID (host AF_VSOCK)
};

struct QemuConfig {
  std::string qemu = "qemu-system-x86_64";
  Accel accel = Accel::tcg;
  VsockTransport transport = VsockTransport::bridge;
  std::filesystem::path kernel, initrd;
  std::string cmdline;                      ///< the full kernel command line
  std::uint64_t memory_mib = 512;
  unsigned cpus = 2;
  std::uint32_t cid = 16;                   ///< vhost-vsock only (the bridge gets it itself)
  std::filesystem::path vhost_user_socket;  ///< bridge only
  std::filesystem::path console_log;        ///< the serial console goes here
  std::filesystem::path qmp_socket;
  std::filesystem::path pid_file;
};

/// argv[0] = config.qemu. Machine: microvm (virtio-mmio devices announced in
/// ACPI, which the image's virtio_mmio module finds without
/// CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES; no PCI, so the EIF's pci=off holds).
/// Guest RAM is a shared memfd when the bridge must map it.
std::vector<std::string> qemu_argv(const QemuConfig& config);

/// The booted command line: the EIF's, then "ef.local ef.pcr0=… ef.pcr1=…
/// ef.pcr2=…" (lower-case hex) and, under TCG, the TSC frequency
/// ("tsc_early_khz=K tsc=reliable": microvm has no PIT/HPET to calibrate
/// against, and TCG's TSC runs at the host's rate), then `extra`.
std::string local_cmdline(std::string_view eif_cmdline, const std::string& pcr0_hex, const std::string& pcr1_hex,
                          const std::string& pcr2_hex, Accel accel, std::uint64_t tsc_khz, std::string_view extra);

/// Whether /dev/kvm can be opened read-write and answers KVM_GET_API_VERSION.
bool kvm_usable();
/// Whether /dev/vhost-vsock can be opened read-write.
bool vhost_vsock_usable();
/// This host's TSC frequency in kHz, measured against CLOCK_MONOTONIC_RAW (~20 ms).
std::uint64_t measure_tsc_khz();

}  // namespace ef::engine::local
