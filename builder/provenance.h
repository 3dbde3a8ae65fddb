#pragma once
// NAME.provenance.json: an in-toto Statement v1 whose predicate is SLSA
// Provenance v1. Deterministic: no clocks, no host names, no absolute paths
// of the checkout — built twice, it is byte-identical.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include <nlohmann/json.hpp>

#include "builder/lock.h"
#include "builder/pcr.h"
#include "builder/spec.h"

namespace ef::build {

inline constexpr const char* kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr const char* kSlsaPredicateType = "https://slsa.dev/provenance/v1";
inline constexpr const char* kBuildType = "https://github.com/enclave-framework/rbuild/eif/v1";
inline constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";

struct ProvenanceSubject {
  std::string name;    // "default.eif"
  std::string sha256;  // hex
  eif::Measurements pcrs;
};

/// The Statement: subject = the EIF (sha256, PCRs as annotations);
/// externalParameters = the spec (normalised) and the lock's digest;
/// resolvedDependencies = every locked input with its digest.
nlohmann::ordered_json make_provenance(const Spec& spec, const Lock& lock, const std::string& lock_sha256,
                                       const ProvenanceSubject& subject);

/// What `rbuild verify` needs back from a provenance file (a Statement or a DSSE envelope of one).
struct ProvenanceClaims {
  std::string subject_name;
  std::string subject_sha256;
  nlohmann::json pcrs;            // {"PCR0": hex, ...}
  nlohmann::json spec;            // externalParameters.spec
  nlohmann::json dependencies;    // resolvedDependencies
  std::string spec_path;          // externalParameters.specPath
  bool signed_envelope = false;
};

/// Parses a provenance file; errors name the file and the field.
ProvenanceClaims read_provenance(const std::string& text, const std::string& file);

/// DSSE pre-authentication encoding: "DSSEv1 LEN(type) type LEN(body) body".
std::string dsse_pae(const std::string& payload_type, const std::string& payload);

/// A DSSE envelope of an in-toto statement, signed (ECDSA, SHA-384, DER
/// signature) with `key`; keyid = sha256 of the signing certificate's DER.
nlohmann::ordered_json dsse_envelope(const std::string& statement, EVP_PKEY* key, const std::string& keyid);

/// Verifies every signature of a DSSE envelope file with the certificate's key.
/// Throws ef::Error saying what failed.
void dsse_verify(const std::string& envelope_text, X509* cert, const std::string& file);

}  // namespace ef::build
