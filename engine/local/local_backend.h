#pragma once
// The local backend: an EIF booted in QEMU (microvm; KVM where usable, TCG
// otherwise), its vsock reachable from the host through ef-vsock-bridge
// (hybrid vsock over unix sockets) or, where the host has /dev/vhost-vsock
// and KVM, through the kernel's vhost-vsock with a real CID.
// See docs/local-mode.md for what differs from Nitro.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/backend.h"
#include "engine/local/qemu_argv.h"

namespace ef::engine::local {

struct LocalOptions {
  enum class Transport { automatic, bridge, vhost_vsock };
  std::string qemu = "qemu-system-x86_64";
  /// ef-vsock-bridge; empty: next to the running executable, else from PATH.
  std::filesystem::path bridge;
  Transport transport = Transport::automatic;  ///< automatic: vhost-vsock if KVM and /dev/vhost-vsock work
  std::optional<bool> kvm;                     ///< nullopt: KVM when /dev/kvm works
  std::string extra_cmdline;                   ///< appended to the booted command line
  /// Where running local enclaves register their CIDs (one file per CID).
  std::filesystem::path registry = "/tmp/ef-local";
  std::chrono::milliseconds start_timeout{20000};  ///< bridge ready + QMP up
  /// terminate() first sends {"cmd":"shutdown"} to init's control port
  /// (specs/default/init.yaml: control.vsock_port); 0: skip that step.
  std::uint32_t init_control_port = 9001;
};

/// What `attach` holds (JSON), so a new process can find everything again.
struct LocalAttach {
  std::string transport;  ///< "bridge" | "vhost-vsock"
  std::filesystem::path state_dir, uds, qmp, console;
  int qemu_pid = 0;
  std::uint64_t qemu_start = 0;
  int bridge_pid = 0;
  std::uint64_t bridge_start = 0;
  std::uint32_t cid = 0;
  std::string pcr0, pcr1, pcr2;

  nlohmann::json to_json() const;
  /// Throws Error naming the missing or mistyped key.
  static LocalAttach parse(const std::string& json);
};

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(LocalOptions options = {});
  std::string name() const override { return "local"; }
  EnclaveHandle launch(const LaunchRequest& request) override;
  EnclaveStatus status(const EnclaveHandle& handle) override;
  void terminate(const EnclaveHandle& handle, std::chrono::milliseconds grace) override;
  UniqueFd connect(const EnclaveHandle& handle, std::uint32_t port) override;
  std::string host_listen_endpoint(const EnclaveHandle& handle, std::uint32_t port) override;
  /// Bridge: "hvsock:STATE/vsock.sock:PORT" (pf-proxy sends the CONNECT line);
  /// vhost-vsock: "vsock:CID:PORT".
  std::string connect_endpoint(const EnclaveHandle& handle, std::uint32_t port) override;
  std::filesystem::path console_log(const EnclaveHandle& handle) override;

 private:
  std::uint32_t allocate_cid(std::optional<std::uint32_t> wanted, const std::filesystem::path& state_dir);
  std::filesystem::path bridge_binary() const;
  /// Starts the bridge (unless vhost) and QEMU into `a`; kills what it started on failure.
  void start(const LaunchRequest& rq, LocalAttach& a, const std::string& cmdline, bool kvm, bool vhost);
  LocalOptions options_;
};

/// The hybrid-vsock handshake on a connected bridge socket: writes
/// "CONNECT <port>\n", expects "OK <n>\n" within `timeout_ms`. Throws Error
/// saying the guest refused (nothing listens on that port) or timed out.
void bridge_handshake(int fd, std::uint32_t port, int timeout_ms);

/// Connects to a unix stream socket; throws SysError naming it.
UniqueFd connect_unix(const std::filesystem::path& path);

}  // namespace ef::engine::local
