#pragma once
// The simulated NSM's development CA: root -> intermediate -> short-lived leaf,
// all P-384 / ECDSA-SHA384 like AWS's chain. Never trusted by the AWS root.

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "attest/ossl.h"

namespace ef::attest {

struct DevCa {
  ossl::X509Ptr root;
  ossl::X509Ptr intermediate;
  ossl::PkeyPtr intermediate_key;
};

struct IssuedCert {
  ossl::X509Ptr cert;
  ossl::PkeyPtr key;
};

/// Files in a dev CA directory.
inline constexpr std::string_view kDevRootCert = "dev-root.pem";
inline constexpr std::string_view kDevRootKey = "dev-root.key";
inline constexpr std::string_view kDevIntermediateCert = "dev-intermediate.pem";
inline constexpr std::string_view kDevIntermediateKey = "dev-intermediate.key";

/// Loads the CA in `dir`, creating it first when `dir` does not exist (root valid
/// 20 years, intermediate 10, from `now_ms`). The directory is made 0700 and keys
/// 0600; creation is atomic (built beside, then renamed), so concurrent callers
/// agree on one CA. Refuses (ef::Error) a directory or key readable by others.
DevCa load_or_create_dev_ca(const std::filesystem::path& dir, std::int64_t now_ms);

/// A fresh P-384 leaf for `common_name`, issued by the intermediate: digitalSignature,
/// not a CA, valid [now - 60 s, now + lifetime].
IssuedCert issue_leaf(const DevCa& ca, std::string_view common_name, std::int64_t now_ms, std::int64_t lifetime_ms);

}  // namespace ef::attest
