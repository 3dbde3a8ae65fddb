#pragma once
// Payload codecs of the agent's messages (docs/agent.md has the byte layouts).
// Every decoder checks sizes exactly and throws ef::FormatError naming the
// message and the byte offset; JSON requests reject unknown keys and wrong types.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/agent/frame.h"

namespace ef::agent {

inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kNonceSize = 32;
/// The prefix of the operator's signed message, NUL included (17 bytes).
inline constexpr std::string_view kAuthContext{"ef-agent-auth-v1\0", 17};

struct Hello {
  std::uint16_t version = kProtocolVersion;
  std::array<std::uint8_t, kNonceSize> nonce{};
};
Bytes encode_hello(const Hello& h);
Hello decode_hello(std::span<const std::uint8_t> p);

struct Auth {
  Bytes spki;       ///< DER SubjectPublicKeyInfo of the operator key (1..1024 bytes)
  Bytes signature;  ///< DER ECDSA signature (1..512 bytes)
};
Bytes encode_auth(const Auth& a);
Auth decode_auth(std::span<const std::uint8_t> p);

/// What the operator signs: kAuthContext || sha256(document) || challenge.
Bytes auth_message(std::span<const std::uint8_t> document, std::span<const std::uint8_t> challenge);

enum class ErrorCode : std::uint16_t {
  kProtocol = 1,  ///< malformed or unexpected frame
  kRefused = 2,   ///< not permitted: key not listed, feature disabled
  kFailed = 3,    ///< the request ran and failed (no such file, …)
  kUnsafe = 4,    ///< a tar entry that would escape its destination
};
struct ErrorMsg {
  ErrorCode code = ErrorCode::kFailed;
  std::string message;
};
Bytes encode_error(const ErrorMsg& e);
ErrorMsg decode_error(std::span<const std::uint8_t> p);

struct SecretPut {
  std::string name;
  Bytes value;
};
Bytes encode_secret_put(const SecretPut& s);
SecretPut decode_secret_put(std::span<const std::uint8_t> p);
/// Secret names: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}; throws ef::Error naming the fault.
void validate_secret_name(std::string_view name);

struct LogChunk {
  std::string service;
  std::string lines;  ///< one or more complete lines, each ending in '\n'
};
Bytes encode_log(const LogChunk& l);
LogChunk decode_log(std::span<const std::uint8_t> p);

Bytes encode_exit(std::int32_t status);
std::int32_t decode_exit(std::span<const std::uint8_t> p);
Bytes encode_signal(std::uint8_t signo);
std::uint8_t decode_signal(std::span<const std::uint8_t> p);
Bytes encode_winch(std::uint16_t rows, std::uint16_t cols);
std::pair<std::uint16_t, std::uint16_t> decode_winch(std::span<const std::uint8_t> p);

/// EXEC's JSON: {"argv": [..1+..], "env": ["K=V"...], "cwd": "", "tty": false,
/// "stdin": false, "rows": 0, "cols": 0}; only argv is required.
struct ExecSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  bool tty = false;
  bool stdin_open = false;
  std::uint16_t rows = 0, cols = 0;
};
Bytes encode_exec(const ExecSpec& e);
ExecSpec decode_exec(std::span<const std::uint8_t> p);

/// CP_IN {"dest": path}; CP_OUT {"src": path}; LOGS {"service": "", "follow": false}.
Bytes encode_path_request(std::string_view key, std::string_view path);
std::string decode_path_request(std::span<const std::uint8_t> p, std::string_view key, std::string_view what);
struct LogsSpec {
  std::string service;
  bool follow = false;
};
Bytes encode_logs(const LogsSpec& l);
LogsSpec decode_logs(std::span<const std::uint8_t> p);

}  // namespace ef::agent
