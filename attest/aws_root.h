#pragma once
// The AWS Nitro Enclaves root certificate (G1), compiled in and pinned.

#include <cstdint>
#include <string_view>
#include <vector>

namespace ef::attest {

/// SHA-256 of the root's DER, as AWS publishes it (lower-case hex).
inline constexpr std::string_view kAwsRootSha256 = "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

/// The root as PEM text.
std::string_view aws_root_pem();

/// The root's DER; checked against kAwsRootSha256 (throws ef::Error on a mismatch,
/// which would mean the compiled-in text was altered).
std::vector<std::uint8_t> aws_root_der();

}  // namespace ef::attest
