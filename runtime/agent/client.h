#pragma once
// Host side of the attested channel to an enclave's agent (ef-agent). The
// channel is TLS 1.3 over any stream (vsock on Nitro, the vhost-user-vsock
// bridge locally, TCP or unix sockets in tests). Before the client sends a
// single request byte it verifies the enclave's attestation document: chain
// to the pinned root, COSE signature, the expected PCRs, the binding of the
// document's public_key to the TLS key the enclave presented, and the nonce
// the client chose (freshness). Then it proves the operator's key. See
// docs/agent.md for the wire protocol.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"

namespace ef::agent {

/// What the host requires of the enclave before it talks to it.
struct Expectations {
  std::map<unsigned, std::string> pcrs;  ///< index → lowercase hex (at least 0, 1, 2)
  std::string root_pem;                  ///< trust anchor: AWS root, or the dev CA locally
  std::chrono::seconds max_age{300};     ///< document timestamp vs now
};

/// The operator identity that exec/cp/secret requests are signed with.
struct OperatorKey {
  std::filesystem::path private_key_pem;  ///< EC P-256/P-384 key, mode 0600
};

/// What a verified handshake established (for `pipeline attest`).
struct PeerInfo {
  std::map<unsigned, std::string> pcrs;  ///< from the verified document
  std::string module_id;
  std::uint64_t timestamp_ms = 0;
  std::string public_key_sha256;         ///< of the enclave's TLS SPKI (DER)
  std::vector<std::uint8_t> document;    ///< the raw COSE_Sign1
};

struct ExecRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;          ///< extra NAME=VALUE
  std::string cwd;                       ///< "" = /
  bool tty = false;
  bool stdin_open = false;
};

struct ExecIo {
  /// Called from a helper thread while the command runs (only when
  /// stdin_open); exec() returns after it has returned. 0 = EOF.
  std::function<std::size_t(std::uint8_t*, std::size_t)> read_stdin;
  std::function<void(const std::uint8_t*, std::size_t)> on_stdout;
  std::function<void(const std::uint8_t*, std::size_t)> on_stderr;
  /// Extension: when >= 0 (and stdin_open), stdin is read from this fd in the
  /// client's own poll loop instead of read_stdin (no thread; a terminal works).
  int stdin_fd = -1;
  /// Extension: a signalfd; each signal read from it is forwarded to the
  /// command's process group (SIGINT, SIGTERM, …), SIGWINCH as a resize of
  /// the TTY (from winsize_fd).
  int signal_fd = -1;
  int winsize_fd = -1;  ///< a terminal whose size is sent at start and on SIGWINCH
};

/// The agent's vsock port in every image.
inline constexpr std::uint32_t kDefaultAgentPort = 7000;

/// Expected PCRs from a file (pcrs.json, `rbuild describe` JSON, or PCRn=hex
/// lines; see attest/verify.h parse_expected_pcrs) into Expectations::pcrs.
std::map<unsigned, std::string> load_expected_pcrs(const std::filesystem::path& file);

/// One verified, authenticated connection. Not thread-safe.
class Client {
 public:
  /// Runs the TLS handshake over `stream`, verifies the attestation against
  /// `expect` and authenticates with `key`. Throws ef::Error naming the
  /// failed check ("PCR0 mismatch: expected …, enclave reports …") before
  /// any request is sent.
  static std::unique_ptr<Client> connect(UniqueFd stream, const Expectations& expect,
                                         const OperatorKey& key);
  virtual ~Client() = default;

  virtual const PeerInfo& peer() const = 0;
  /// Runs argv in the enclave; returns its exit status (128+signal if killed).
  virtual int exec(const ExecRequest& request, const ExecIo& io) = 0;
  /// Copies a local file or directory tree into the enclave at `remote`.
  virtual void copy_in(const std::filesystem::path& local, const std::string& remote) = 0;
  /// Extension: sends an existing tar stream read from `tar_fd` as is, to be
  /// extracted at `remote` under the same rules as copy_in (for tools that
  /// already hold an archive, and for tests of the agent's path checks).
  virtual void copy_in_archive(int tar_fd, const std::string& remote) = 0;
  /// Copies a file or directory tree out of the enclave to `local`.
  virtual void copy_out(const std::string& remote, const std::filesystem::path& local) = 0;
  /// Streams init's log of `service` ("" = all, each line then prefixed with
  /// "SERVICE: "); follow keeps the stream open until on_line returns false.
  virtual void logs(const std::string& service, bool follow,
                    const std::function<bool(const std::string& line)>& on_line) = 0;
  /// Delivers a secret sealed to the enclave's attested key (it travels only
  /// inside the TLS session whose key the document binds); it is never
  /// written to the host's disk. Lands in the agent's secret_dir as NAME, 0400.
  virtual void put_secret(const std::string& name, const std::vector<std::uint8_t>& value) = 0;
};

}  // namespace ef::agent
