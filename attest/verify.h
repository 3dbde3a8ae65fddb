#pragma once
// The offline attestation verifier: every check by name, in AWS's order, then a policy.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attest/cert_cache.h"
#include "attest/document.h"

namespace ef::attest {

/// What the relying party expects beyond a genuine document.
struct Policy {
  std::map<std::uint32_t, Bytes> pcrs;  ///< each listed PCR must equal the document's
  std::optional<Bytes> nonce;
  std::optional<Bytes> public_key;
  std::optional<Bytes> user_data;
  std::optional<std::int64_t> max_age_ms;  ///< verification time - document timestamp
};

/// Expected PCRs from a file's text: `rbuild describe` JSON ({"Measurements":
/// {"PCR0": hex, ...}}), a pcrs.json ({"HashAlgorithm": ..., "PCR0": hex, ...}),
/// a JSON array of {"index": N, "value": hex}, or text lines "PCR0=hex" / "0=hex"
/// ('#' comments). Throws ef::Error naming `source`.
std::map<std::uint32_t, Bytes> parse_expected_pcrs(std::string_view text, std::string_view source);

enum class TimeSource { kNow, kDocument, kFixed };

struct VerifyOptions {
  /// DER roots to chain to; empty means the compiled-in AWS Nitro root.
  std::vector<Bytes> trusted_roots;
  TimeSource time_source = TimeSource::kNow;
  std::int64_t fixed_time_ms = 0;      ///< for kFixed
  std::optional<std::int64_t> now_ms;  ///< "now" for kNow and max-age (default: system clock)
  Policy policy;
  /// Remembers cabundle certificates and the signatures between them across
  /// calls (not owned; may be shared by threads). Never changes a result: every
  /// check runs with or without it, with the same outcome and detail.
  CertCache* cache = nullptr;
};

struct Check {
  std::string name;    ///< cose, algorithm, document, certificates, root, validity, key_usage, chain, signature, pcrs, nonce, public_key, user_data, max_age
  bool ok = false;
  std::string detail;  ///< why it failed, or a short confirmation
};

struct VerifyResult {
  std::vector<Check> checks;
  std::optional<AttestationDocument> document;  ///< when the payload parsed
  std::int64_t verification_time_ms = 0;
  bool ok() const;
  /// Names of the failed checks, in order.
  std::vector<std::string> failed() const;
  nlohmann::json to_json() const;
};

/// `s` safe for a terminal and for JSON: printable ASCII and well-formed UTF-8
/// pass, other bytes become \xNN; cut to about `max` characters with "...".
std::string printable(std::string_view s, std::size_t max = 512);

/// Runs every check that its inputs allow (a COSE or payload failure stops the
/// rest, which cannot be judged). ok() only when all pass.
VerifyResult verify_attestation(std::span<const std::uint8_t> document_bytes, const VerifyOptions& options);

}  // namespace ef::attest
