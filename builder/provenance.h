#pragma once
// NAME.provenance.json: an in-toto Statement v1 whose predicate is SLSA
// Provenance v1 (docs/build-type-v1.md). Deterministic: no clocks, no host
// names — built twice from the same checkout, it is byte-identical. (A
// checkout without a remote is named by its file: URL, so a second clone at
// another path records another source URI; the EIF does not change.)

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include <nlohmann/json.hpp>

#include "builder/build_environment.h"
#include "builder/lock.h"
#include "builder/pcr.h"
#include "builder/spec.h"

namespace ef::build {

inline constexpr const char* kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr const char* kSlsaPredicateType = "https://slsa.dev/provenance/v1";
/// The build type's document: docs/build-type-v1.md of this repository.
inline constexpr const char* kBuildType =
    "https://github.com/enclave-framework/rbuild/blob/main/docs/build-type-v1.md";
inline constexpr const char* kBuilderIdPrefix = "https://github.com/enclave-framework/rbuild@";
inline constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";

struct ProvenanceSubject {
  std::string name;    // "default.eif"
  std::string sha256;  // hex
  eif::Measurements pcrs;
};

/// The Statement: subject = the EIF (sha256, PCRs as annotations);
/// externalParameters = the spec (normalised) and the lock's digest;
/// internalParameters = rbuild's version and sha256, the toolchain packages;
/// resolvedDependencies = every locked input with a URI and its digest, the
/// source checkout (commit, clean tree) and the toolchain packages.
nlohmann::ordered_json make_provenance(const Spec& spec, const Lock& lock, const std::string& lock_sha256,
                                       const ProvenanceSubject& subject, const BuildEnvironment& env);

/// What `rbuild verify` needs back from a provenance file (a Statement or a DSSE envelope of one).
struct ProvenanceClaims {
  std::string subject_name;
  std::string subject_sha256;
  nlohmann::json pcrs;            // {"PCR0": hex, ...}
  nlohmann::json spec;            // externalParameters.spec
  nlohmann::json dependencies;    // resolvedDependencies
  std::string spec_path;          // externalParameters.specPath
  std::string builder_id;         // runDetails.builder.id
  bool signed_envelope = false;
  nlohmann::json statement;       // the whole Statement (for policies and `rbuild reproduce`)
};

/// Parses a provenance file; errors name the file and the field.
ProvenanceClaims read_provenance(const std::string& text, const std::string& file);

/// DSSE pre-authentication encoding: "DSSEv1 LEN(type) type LEN(body) body".
std::string dsse_pae(const std::string& payload_type, const std::string& payload);

/// The digest an ECDSA key signs with: P-256 → SHA-256, P-384 → SHA-384,
/// P-521 → SHA-512 (what every DSSE/sigstore verifier assumes for the curve).
const EVP_MD* signature_digest_for(EVP_PKEY* key);

/// A DSSE envelope of an in-toto statement, signed (ECDSA with the curve's
/// hash, DER signature) with `key`; keyid = sha256 of the signing certificate's DER.
nlohmann::ordered_json dsse_envelope(const std::string& statement, EVP_PKEY* key, const std::string& keyid);

/// Decodes base64 in the standard or the URL-safe alphabet, padded or not
/// (DSSE verifiers must accept both). Errors name `where`.
std::string dsse_base64_decode(const std::string& in, const std::string& where);

/// Verifies every signature of a DSSE envelope file with `pub`.
/// Throws ef::Error saying what failed.
void dsse_verify_key(const std::string& envelope_text, EVP_PKEY* pub, const std::string& file);
/// The same with the certificate's key.
void dsse_verify(const std::string& envelope_text, X509* cert, const std::string& file);

}  // namespace ef::build
