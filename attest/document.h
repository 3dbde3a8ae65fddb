#pragma once
// The Nitro attestation document: the payload of a COSE_Sign1 signed by the
// Nitro attestation PKI (aws-nitro-enclaves-nsm-api docs/attestation_process.md §2.2).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attest/cose.h"

namespace ef::attest {

using Bytes = std::vector<std::uint8_t>;

struct AttestationDocument {
  std::string module_id;
  std::string digest = "SHA384";
  std::uint64_t timestamp_ms = 0;       ///< creation time, ms since the Unix epoch
  std::map<std::uint32_t, Bytes> pcrs;  ///< index 0..31 -> 32/48/64 bytes
  Bytes certificate;                    ///< DER of the signing (leaf) certificate
  std::vector<Bytes> cabundle;          ///< DER, root first: [root, intermediate1, ...]
  std::optional<Bytes> public_key;
  std::optional<Bytes> user_data;
  std::optional<Bytes> nonce;
};

/// Size limits from AWS's syntactic validation.
inline constexpr std::size_t kMaxCertSize = 1024;
inline constexpr std::size_t kMaxPublicKeySize = 1024;
inline constexpr std::size_t kMaxUserDataSize = 512;
inline constexpr std::size_t kMaxNonceSize = 512;
inline constexpr std::size_t kMaxPayloadSize = 16384;

/// Parses and syntactically validates a document payload (CBOR map, definite or
/// indefinite): every mandatory field present with its type and size; optional
/// fields absent or null; digest "SHA384"; timestamp > 0; 1..32 PCRs with integer
/// keys 0..31 and 32/48/64-byte values; 1+ CA certificates of 1..1024 bytes;
/// unknown keys rejected. Throws ef::FormatError naming `input_name` and the field.
AttestationDocument parse_document_payload(std::span<const std::uint8_t> payload,
                                           std::string_view input_name = "attestation document");

/// The CBOR payload of a document in the field order the NSM uses, absent
/// optional fields as null.
Bytes encode_document_payload(const AttestationDocument& doc);

/// A signed document: the COSE envelope and its parsed payload.
struct SignedDocument {
  cose::Sign1 envelope;
  AttestationDocument document;
};

/// Parses a COSE_Sign1 attestation document (no signature or chain checks).
SignedDocument parse_signed_document(std::span<const std::uint8_t> bytes,
                                     std::string_view input_name = "attestation document");

}  // namespace ef::attest
