#pragma once
// COSE_Sign1 (RFC 9052 §4.2) with ECDSA ES256/ES384/ES512, as AWS Nitro
// attestation documents and EIF signatures use it.
//
//   COSE_Sign1 = [protected: bstr(.cbor {1: alg}), unprotected: {}, payload: bstr, signature: bstr]
//   signed bytes = Sig_structure ["Signature1", protected, external_aad, payload]
//   signature = r || s, each left-padded to the curve's byte width.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "attest/cbor.h"

namespace ef::cose {

using Bytes = std::vector<std::uint8_t>;

/// COSE algorithm identifiers (IANA "COSE Algorithms").
enum class Algorithm : std::int64_t { kES256 = -7, kES384 = -35, kES512 = -36 };

/// "ES256", "ES384", "ES512", or "alg N" for anything else.
std::string_view algorithm_name(std::int64_t alg);
/// The algorithm a key's curve implies: P-256→ES256, P-384→ES384, P-521→ES512.
/// Throws ef::Error for a non-EC key or another curve.
Algorithm algorithm_for_key(EVP_PKEY* key);
/// Width in bytes of r and of s: 32, 48, 66.
std::size_t coordinate_size(Algorithm alg);

/// A decoded COSE_Sign1. The protected header and payload keep their exact bytes.
struct Sign1 {
  Bytes protected_bytes;        ///< the bstr's content (encoded header map), as received
  cbor::Value protected_header; ///< protected_bytes decoded (an empty map when they are empty)
  cbor::Value unprotected;      ///< a map
  Bytes payload;
  Bytes signature;
  bool tagged = false;          ///< input carried tag 18

  /// The "alg" (label 1) of the protected header; throws ef::Error when absent or not an integer.
  std::int64_t alg() const;
};

/// Parses a COSE_Sign1 (untagged, or tagged 18). Throws ef::FormatError
/// naming `input_name` for bad CBOR, trailing bytes, or the wrong shape
/// (not a 4-array; protected not a bstr holding a map; unprotected not a map;
/// payload not a bstr — detached payloads are not supported; signature not a bstr).
Sign1 parse_sign1(std::span<const std::uint8_t> data, std::string_view input_name = "COSE_Sign1",
                  const cbor::DecodeLimits& limits = {});

/// The encoded Sig_structure ["Signature1", protected, external_aad, payload].
Bytes sig_structure(std::span<const std::uint8_t> protected_bytes, std::span<const std::uint8_t> external_aad,
                    std::span<const std::uint8_t> payload);

/// Signs `payload` with an EC private key; the algorithm follows the key's curve.
/// Returns the untagged COSE_Sign1 encoding with protected {1: alg} and unprotected {}.
Bytes sign1(EVP_PKEY* private_key, std::span<const std::uint8_t> payload,
            std::span<const std::uint8_t> external_aad = {});

/// Verifies a parsed COSE_Sign1 with an EC public key: the protected alg must be
/// ES256/ES384/ES512 and match the key's curve, and the signature must be exactly
/// 2*coordinate_size bytes and valid. Throws ef::Error saying which check failed.
void verify_sign1(const Sign1& msg, EVP_PKEY* public_key, std::span<const std::uint8_t> external_aad = {});
/// The same with the certificate's public key (validity and chain are not checked here).
void verify_sign1(const Sign1& msg, X509* cert, std::span<const std::uint8_t> external_aad = {});

/// ECDSA signature conversions: DER ECDSA-Sig-Value <-> fixed-width r||s.
/// Throw ef::Error on malformed input or a value wider than `width`.
Bytes ecdsa_der_to_raw(std::span<const std::uint8_t> der, std::size_t width);
Bytes ecdsa_raw_to_der(std::span<const std::uint8_t> raw);

}  // namespace ef::cose
