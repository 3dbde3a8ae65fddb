#pragma once
// The EIF signature section as aws-nitro-enclaves-image-format writes it:
//   CBOR [ {"signing_certificate": [u8...], "signature": [u8...]} ]
// where signature is an untagged COSE_Sign1 (ES384 for a P-384 key) over
//   CBOR {"register_index": 0, "register_value": [48 × u8 = PCR0]}
// Byte vectors are CBOR arrays of integers (serde_cbor's Vec<u8>); the
// certificate is stored as its PEM text, as AWS's eif_build stores it.

#include <openssl/evp.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ef::eif {

/// Builds the section for PCR0 with the certificate (PEM text) and its private key.
std::vector<std::uint8_t> make_signature_section(std::string_view cert_pem, EVP_PKEY* key,
                                                 std::span<const std::uint8_t> pcr0);

struct SignatureCheck {
  std::vector<std::uint8_t> certificate_der;  // of the first entry: PCR8 measures it
  nlohmann::ordered_json certificate_info;    // describe-eif's SigningCertificate
};

/// Parses the section and verifies it: the COSE signature with the embedded
/// certificate's key, register_index 0 and register_value equal to `pcr0`.
/// Throws FormatError(input, offset, ...) for malformed bytes and Error for a
/// signature that does not hold.
SignatureCheck check_signature_section(std::span<const std::uint8_t> section, std::span<const std::uint8_t> pcr0,
                                       std::string_view input, std::uint64_t offset);

/// Loads a PEM certificate as DER (what PCR8 measures), and a PEM private key. The key file must not
/// be readable by group or others (like ssh), since it signs images.
std::vector<std::uint8_t> load_certificate_der(const std::string& pem_path);
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
std::unique_ptr<EVP_PKEY, PkeyDeleter> load_signing_key(const std::string& pem_path);

}  // namespace ef::eif
