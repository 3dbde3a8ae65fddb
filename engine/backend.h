#pragma once
// The seam between enclaved and the machine that runs enclaves. Two backends
// implement it: Nitro (nitro-cli / /dev/nitro_enclaves) and local (QEMU with a
// vhost-user-vsock bridge). enclaved, pipeline and the attested-channel client
// only ever see this interface, so every command works the same in both modes.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/fd.h"

namespace ef::engine {

/// What enclaved asks a backend to start.
struct LaunchRequest {
  std::string name;                 ///< unique on this host ([a-z0-9][a-z0-9_.-]*)
  std::filesystem::path eif;        ///< the image to boot (already verified by enclaved)
  unsigned cpus = 2;
  std::uint64_t memory_mib = 512;
  std::optional<std::uint32_t> cid; ///< requested enclave CID; nullopt = backend picks
  std::filesystem::path state_dir;  ///< private to this enclave (0700): console log, sockets
  bool debug_mode = false;          ///< Nitro debug mode (console; PCRs read as zero)
};

/// Everything needed to find a running enclave again, e.g. after enclaved
/// restarts. enclaved stores it in its database; `attach` is the backend's
/// own JSON and opaque to everyone else.
struct EnclaveHandle {
  std::string backend;  ///< "nitro" or "local"
  std::string id;       ///< Nitro enclave id (i-…-enc…) or local "qemu-<pid>"
  std::uint32_t cid = 0;
  int pid = 0;          ///< host process whose exit means the enclave is gone
  std::string attach;   ///< backend-specific JSON (socket paths, start time, …)
};

enum class EnclaveStatus { running, exited };

/// One way of running enclaves on this host. Errors are ef::Error with context.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  /// Starts the enclave; returns once it is booting (not when it is healthy).
  /// Checks resources first and names what is missing (cores, hugepages, CID).
  virtual EnclaveHandle launch(const LaunchRequest& request) = 0;

  /// Whether the enclave behind `handle` still runs. Must work for handles
  /// read back from the database by a new enclaved process (re-attach).
  virtual EnclaveStatus status(const EnclaveHandle& handle) = 0;

  /// Stops the enclave: orderly first, forced after `grace`. Idempotent.
  virtual void terminate(const EnclaveHandle& handle, std::chrono::milliseconds grace) = 0;

  /// A connected stream to the enclave's vsock `port` (host → enclave).
  /// Nitro: AF_VSOCK to (cid, port). Local: through the vsock bridge.
  virtual UniqueFd connect(const EnclaveHandle& handle, std::uint32_t port) = 0;

  /// Where a host process must listen so that the enclave's connections to
  /// the parent (CID 3 on Nitro, CID 2 under QEMU) on vsock `port` reach it,
  /// as a pf-proxy endpoint string ("vsock:any:PORT" or "unix:/path").
  virtual std::string host_listen_endpoint(const EnclaveHandle& handle, std::uint32_t port) = 0;

  /// The enclave's console output file, if the backend keeps one ("" if not).
  virtual std::filesystem::path console_log(const EnclaveHandle& handle) = 0;

  /// A pf-proxy `connect` endpoint string that reaches the enclave's vsock
  /// `port` from a host process that is not enclaved (the host-side port
  /// forwards), e.g. "vsock:CID:PORT". Default "": no such endpoint (local
  /// mode's bridge wants a CONNECT handshake), and enclaved forwards the
  /// port itself through connect(). (Added by the engine; compatible.)
  virtual std::string connect_endpoint(const EnclaveHandle& handle, std::uint32_t port) {
    (void)handle;
    (void)port;
    return "";
  }
};

}  // namespace ef::engine
