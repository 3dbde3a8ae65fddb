#pragma once
// The server's TLS key and certificate: generated inside the enclave at start
// (ECDSA P-384 or P-256, self-signed), or loaded from files. Its public key is
// what attestation documents carry (RA-TLS, docs/ra-web-srv.md).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "attest/ossl.h"

namespace ef::websrv {

struct TlsIdentity {
  ossl::PkeyPtr key;
  ossl::X509Ptr cert;
  std::vector<std::uint8_t> spki_der;  ///< SubjectPublicKeyInfo DER of the key (= of the cert)
  std::string key_type;                ///< "P-384" / "P-256"
};

/// A fresh key on `curve` and a self-signed X.509 v3 certificate for it:
/// CN=`common_name`, SAN DNS:`common_name`, random 128-bit serial, valid from
/// now - 1 h to now + 1 year, signed with SHA-384 (P-384) or SHA-256 (P-256).
TlsIdentity generate_tls_identity(std::string_view curve, std::string_view common_name);

/// Loads a PEM certificate and key; the key must match the certificate.
TlsIdentity load_tls_identity(const std::filesystem::path& cert_file, const std::filesystem::path& key_file);

/// Writes key.pem (0600) and cert.pem (0644) into `dir`, creating it 0700.
void write_tls_identity(const TlsIdentity& id, const std::filesystem::path& dir);

}  // namespace ef::websrv
