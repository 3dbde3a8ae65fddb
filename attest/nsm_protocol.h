#pragma once
// The Nitro Secure Module's request/response protocol: CBOR as serde_cbor writes
// the Rust enums of aws-nitro-enclaves-nsm-api (src/api/mod.rs). A unit variant
// is a bare text string ("DescribeNSM"); a struct variant a one-entry map
// {"Attestation": {"user_data": bytes|null, "nonce": ..., "public_key": ...}};
// errors are {"Error": "InvalidIndex"}.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/error.h"

namespace ef::nsm {

using Bytes = std::vector<std::uint8_t>;

/// Limits of the real driver and module.
inline constexpr std::size_t kMaxRequestSize = 0x1000;
inline constexpr std::size_t kMaxResponseSize = 0x3000;
inline constexpr std::size_t kMaxUserDataSize = 512;
inline constexpr std::size_t kMaxNonceSize = 512;
inline constexpr std::size_t kMaxPublicKeySize = 1024;
inline constexpr std::uint16_t kMaxPcrs = 32;

enum class ErrorCode {
  kSuccess,
  kInvalidArgument,
  kInvalidIndex,
  kInvalidResponse,
  kReadOnlyIndex,
  kInvalidOperation,
  kBufferTooSmall,
  kInputTooLarge,
  kInternalError,
};
/// The serde name: "Success", "InvalidArgument", ...
std::string_view error_code_name(ErrorCode code);

/// An NSM operation failed with `code` (from the module, or detected locally).
class NsmError : public Error {
 public:
  NsmError(ErrorCode code, const std::string& context);
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

namespace req {
struct DescribePcr { std::uint16_t index = 0; };
struct ExtendPcr { std::uint16_t index = 0; Bytes data; };
struct LockPcr { std::uint16_t index = 0; };
struct LockPcrs { std::uint16_t range = 0; };
struct DescribeNsm {};
struct Attestation {
  std::optional<Bytes> user_data;
  std::optional<Bytes> nonce;
  std::optional<Bytes> public_key;
};
struct GetRandom {};
}  // namespace req
using Request = std::variant<req::DescribePcr, req::ExtendPcr, req::LockPcr, req::LockPcrs, req::DescribeNsm,
                             req::Attestation, req::GetRandom>;

namespace resp {
struct DescribePcr { bool lock = false; Bytes data; };
struct ExtendPcr { Bytes data; };
struct LockPcr {};
struct LockPcrs {};
struct DescribeNsm {
  std::uint16_t version_major = 1, version_minor = 0, version_patch = 0;
  std::string module_id;
  std::uint16_t max_pcrs = kMaxPcrs;
  std::vector<std::uint16_t> locked_pcrs;  ///< ascending (a BTreeSet on the Rust side)
  std::string digest = "SHA384";           ///< "SHA256" | "SHA384" | "SHA512"
};
struct Attestation { Bytes document; };
struct GetRandom { Bytes random; };
struct Error { ErrorCode code = ErrorCode::kInternalError; };
}  // namespace resp
using Response = std::variant<resp::DescribePcr, resp::ExtendPcr, resp::LockPcr, resp::LockPcrs, resp::DescribeNsm,
                              resp::Attestation, resp::GetRandom, resp::Error>;

/// Client side: the request's CBOR; the module's answer parsed (ef::FormatError on
/// malformed CBOR or an unknown shape).
Bytes encode_request(const Request& request);
Response decode_response(std::span<const std::uint8_t> data);

/// Module side (the simulated NSM and tests): the inverse pair.
Request decode_request(std::span<const std::uint8_t> data);
Bytes encode_response(const Response& response);

/// The variant's serde name ("DescribePCR", "Attestation", ...), for messages.
std::string_view request_name(const Request& request);

}  // namespace ef::nsm
