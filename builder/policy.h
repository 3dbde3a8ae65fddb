#pragma once
// policy.yaml for `rbuild verify --policy`: what a user's CI trusts about an
// image and its provenance. Every rule is optional; each one present becomes
// a check named "policy.RULE" whose failure says which rule (file:line) and why.
// Format: docs/verification-ci.md.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/provenance.h"
#include "builder/verify.h"

namespace ef::build {

struct TrustedSigner {
  std::string certificate_sha256;  // sha256 of the certificate's DER (the DSSE keyid), or
  std::string public_key_sha256;   // sha256 of its SubjectPublicKeyInfo DER
  std::string where;               // "policy.yaml:4"
};

/// A rule's value and where it was written.
template <typename T>
struct Rule {
  T value{};
  std::string where;  // "policy.yaml:7"
};

struct Policy {
  std::string file;
  std::optional<Rule<std::vector<TrustedSigner>>> signers;  // the image (and a DSSE provenance) signed by one
  std::optional<Rule<std::string>> builder_id;              // runDetails.builder.id, exactly
  std::optional<Rule<std::string>> builder_id_prefix;       // ... or starting with this
  std::optional<Rule<std::string>> source_repository;       // the recorded source URI, without @commit
  std::optional<Rule<std::vector<std::string>>> source_commits;   // full hex, or a prefix of >= 7 digits
  std::optional<Rule<std::vector<std::string>>> source_branches;
  std::optional<Rule<bool>> source_clean;
  std::optional<Rule<std::map<std::string, std::string>>> pcrs;   // from `pcrs:` or `pcrs_file:`
  std::optional<Rule<std::int64_t>> max_age_seconds;             // age of the source commit
};

/// Parses a policy; relative file names (certificate, pcrs_file) are relative
/// to `base_dir`. Errors name file:line:key; unknown keys are errors.
Policy parse_policy(std::string_view text, const std::string& file, const std::filesystem::path& base_dir);
Policy load_policy(const std::filesystem::path& path);

/// "90d", "12h", "30m", "45s" or a bare number of seconds.
std::optional<std::int64_t> parse_duration(const std::string& text);

/// What the policy is checked against.
struct PolicySubject {
  bool image_signed = false;
  bool signature_ok = false;
  std::vector<std::uint8_t> certificate_der;  // the image's signing certificate
  nlohmann::json pcrs;                        // measured: {"PCR0": hex, ...}
  const ProvenanceClaims* claims = nullptr;   // null when the provenance is unreadable
  bool provenance_signature_ok = false;       // a DSSE envelope verified with the image's certificate
};

/// One check per rule present in the policy, in the order of this header.
std::vector<Check> evaluate_policy(const Policy& policy, const PolicySubject& subject, std::int64_t now);

/// The source dependency's fields from a provenance (uri without @commit, commit, branch, clean, time).
struct RecordedSource {
  std::string repository, commit, branch;
  bool clean = false;
  std::int64_t commit_time = 0;
};
std::optional<RecordedSource> recorded_source(const ProvenanceClaims& claims);

/// "git+https://h/r.git/" and "https://h/r" name the same repository.
std::string normalize_repository(std::string uri);

}  // namespace ef::build
