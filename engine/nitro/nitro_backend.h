#pragma once
// Backend for real Nitro Enclaves, through nitro-cli's JSON interface:
//   run-enclave --eif-path P --cpu-count N --memory MIB [--enclave-cid C] [--debug-mode] --enclave-name NAME
//   describe-enclaves
//   terminate-enclave --enclave-id ID
// The allocator checks run before launch, so a refusal names the missing
// cores or hugepages instead of nitro-cli's E26/E27 codes.
// nitro-cli's terminate is immediate, so a stop first asks the image's init
// to power off over its control port (engine/init_control.h) and waits for the
// enclave to leave describe-enclaves, as docker waits after SIGTERM.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/backend.h"
#include "engine/nitro/command.h"

namespace ef::engine::nitro {

/// One entry of `nitro-cli describe-enclaves` (EnclaveDescribeInfo).
struct DescribedEnclave {
  std::string name, id, state;
  std::uint32_t cid = 0;
  int process_id = 0;
  std::set<unsigned> cpu_ids;
  std::uint64_t memory_mib = 0;
};

/// Parses describe-enclaves' output (an array); throws Error naming the field.
std::vector<DescribedEnclave> parse_describe(const std::string& json_text);
/// Parses run-enclave's output (EnclaveRunInfo) into a handle.
EnclaveHandle parse_run(const std::string& json_text);

/// Opens a stream to an enclave's CID:PORT; throws Error when it cannot.
using VsockDialer = std::function<UniqueFd(std::uint32_t cid, std::uint32_t port)>;

struct NitroOptions {
  /// init's control port in the image (0: never ask, terminate at once).
  std::uint32_t init_control_port = 9001;
  /// How often a stop re-reads describe-enclaves while init powers off.
  std::chrono::milliseconds poll_interval{250};
  /// Empty: AF_VSOCK. Tests pass a fake.
  VsockDialer dial;
};

class NitroBackend : public Backend {
 public:
  /// `root`: filesystem root for the allocator checks ("/" in production).
  NitroBackend(std::unique_ptr<CommandRunner> runner, std::string nitro_cli, std::filesystem::path root = "/",
               NitroOptions options = {});

  std::string name() const override { return "nitro"; }
  EnclaveHandle launch(const LaunchRequest& request) override;
  EnclaveStatus status(const EnclaveHandle& handle) override;
  /// Asks init to power off and waits up to `grace` for the enclave to go;
  /// then (or when init does not answer, or grace is 0) terminate-enclave.
  void terminate(const EnclaveHandle& handle, std::chrono::milliseconds grace) override;
  UniqueFd connect(const EnclaveHandle& handle, std::uint32_t port) override;
  std::string host_listen_endpoint(const EnclaveHandle& handle, std::uint32_t port) override;
  std::filesystem::path console_log(const EnclaveHandle& handle) override;
  /// "vsock:CID:PORT": pf-proxy dials the enclave directly.
  std::string connect_endpoint(const EnclaveHandle& handle, std::uint32_t port) override;

 private:
  std::vector<DescribedEnclave> describe();
  nlohmann::json run_json(const std::vector<std::string>& args, const std::string& what);
  std::unique_ptr<CommandRunner> runner_;
  std::string cli_;
  std::filesystem::path root_;
  NitroOptions options_;
};

}  // namespace ef::engine::nitro
