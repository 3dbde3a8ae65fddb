#include "builder/eif_signature.h"

#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>

#include "attest/cbor.h"
#include "attest/cose.h"
#include "attest/ossl.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

namespace ef::eif {

std::vector<std::uint8_t> make_signature_section(std::string_view cert_pem, EVP_PKEY* key,
                                                 std::span<const std::uint8_t> pcr0) {
  cbor::Value pcr_info = cbor::Value::map();
  pcr_info.insert(cbor::Value::text("register_index"), cbor::Value::unsigned_int(0));
  pcr_info.insert(cbor::Value::text("register_value"), cbor::int_array_from_bytes(pcr0));
  cbor::Bytes cose = cose::sign1(key, cbor::encode(pcr_info));
  cbor::Value entry = cbor::Value::map();
  entry.insert(cbor::Value::text("signing_certificate"), cbor::int_array_from_bytes(
                                                    std::span(reinterpret_cast<const std::uint8_t*>(cert_pem.data()), cert_pem.size())));
  entry.insert(cbor::Value::text("signature"), cbor::int_array_from_bytes(cose));
  return cbor::encode(cbor::Value::array({entry}));
}

namespace {

std::string asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "";
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json describe_certificate(X509* cert, std::span<const std::uint8_t> der) {
  nlohmann::ordered_json issuer;
  X509_NAME* name = X509_get_issuer_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    char key[80];
    OBJ_obj2txt(key, sizeof key, X509_NAME_ENTRY_get_object(e), 0);
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len >= 0) issuer[key] = std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
  }
  nlohmann::ordered_json j;
  j["IssuerName"] = issuer;
  j["Algorithm"] = OBJ_nid2ln(X509_get_signature_nid(cert));
  j["NotBefore"] = asn1_time(X509_get0_notBefore(cert));
  j["NotAfter"] = asn1_time(X509_get0_notAfter(cert));
  j["Sha256Fingerprint"] = to_hex(digest(HashAlgo::kSha256, der));
  return j;
}

}  // namespace

SignatureCheck check_signature_section(std::span<const std::uint8_t> section, std::span<const std::uint8_t> pcr0,
                                       std::string_view input, std::uint64_t offset) {
  std::string where = std::string(input) + ": signature section";
  cbor::Value root;
  try {
    root = cbor::decode(section, cbor::DecodeLimits{}, where);
  } catch (const FormatError& e) {
    throw FormatError(input, offset + e.offset(), std::string("signature section: ") + e.what());
  }
  auto shape = [&](const std::string& what) -> FormatError { return FormatError(input, offset, "signature section: " + what); };
  if (!root.is_array() || root.as_array().empty()) throw shape("expected a non-empty CBOR array of signatures");
  const cbor::Value& entry = root.as_array().front();
  if (!entry.is_map()) throw shape("entry 0 is not a map");
  const cbor::Value* cert_v = entry.find("signing_certificate");
  const cbor::Value* sig_v = entry.find("signature");
  if (!cert_v || !sig_v) throw shape("entry 0 needs signing_certificate and signature");
  SignatureCheck out;
  cbor::Bytes cose_bytes, cert_pem;
  try {
    cert_pem = cbor::bytes_from_int_array(*cert_v);
    cose_bytes = cbor::bytes_from_int_array(*sig_v);
  } catch (const Error& e) {
    throw shape(e.what());
  }
  auto certs = ossl::certs_from_pem(std::string_view(reinterpret_cast<const char*>(cert_pem.data()), cert_pem.size()),
                                    where + ": signing_certificate");
  ossl::X509Ptr cert = std::move(certs.front());
  out.certificate_der = ossl::cert_to_der(cert.get());
  cose::Sign1 msg = cose::parse_sign1(cose_bytes, where + ": COSE_Sign1");
  with_context(where, [&] { cose::verify_sign1(msg, cert.get()); });
  cbor::Value info = cbor::decode(msg.payload, cbor::DecodeLimits{}, where + ": PcrInfo");
  const cbor::Value* index = info.is_map() ? info.find("register_index") : nullptr;
  const cbor::Value* value = info.is_map() ? info.find("register_value") : nullptr;
  if (!index || !value || !index->is_unsigned() || index->as_uint() != 0)
    throw Error(where + ": the signed payload is not PcrInfo{register_index: 0, ...}");
  cbor::Bytes signed_pcr0 = cbor::bytes_from_int_array(*value);
  if (!std::equal(signed_pcr0.begin(), signed_pcr0.end(), pcr0.begin(), pcr0.end()))
    throw Error(where + ": signed PCR0 " + to_hex(signed_pcr0) + " differs from the image's PCR0 " + to_hex(pcr0));
  out.certificate_info = describe_certificate(cert.get(), out.certificate_der);
  return out;
}

std::vector<std::uint8_t> load_certificate_der(const std::string& pem_path) {
  auto certs = ossl::certs_from_pem(read_text_file(pem_path), pem_path);
  return ossl::cert_to_der(certs.front().get());
}

std::unique_ptr<EVP_PKEY, PkeyDeleter> load_signing_key(const std::string& pem_path) {
  struct stat st {};
  if (::stat(pem_path.c_str(), &st) != 0) throw_errno("stat", pem_path);
  if (st.st_mode & 077)
  {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", st.st_mode & 0777);
    throw Error(pem_path + ": signing key is accessible by group or others (mode " + mode + "); run chmod 600 on it");
  }
  ossl::PkeyPtr key = ossl::private_key_from_pem(read_text_file(pem_path), pem_path);
  return std::unique_ptr<EVP_PKEY, PkeyDeleter>(key.release());
}

}  // namespace ef::eif
