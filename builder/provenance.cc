#include "builder/provenance.h"

#include <openssl/evp.h>

#include "base/error.h"
#include "base/hash.h"

namespace ef::build {

nlohmann::ordered_json make_provenance(const Spec& spec, const Lock& lock, const std::string& lock_sha256,
                                       const ProvenanceSubject& subject) {
  nlohmann::ordered_json annotations = eif::measurements_json(subject.pcrs);
  annotations.erase("HashAlgorithm");

  nlohmann::ordered_json deps = nlohmann::ordered_json::array();
  for (const LockedInput& in : lock.inputs) {
    deps.push_back({{"name", in.name},
                    {"uri", in.path},
                    {"digest", {{"sha256", in.digest.sha256}}},
                    {"annotations", {{"kind", in.kind}, {"size", in.digest.size}}}});
  }

  nlohmann::ordered_json st;
  st["_type"] = kStatementType;
  st["subject"] = nlohmann::ordered_json::array(
      {{{"name", subject.name}, {"digest", {{"sha256", subject.sha256}}}, {"annotations", annotations}}});
  st["predicateType"] = kSlsaPredicateType;
  st["predicate"] = {
      {"buildDefinition",
       {{"buildType", kBuildType},
        {"externalParameters",
         {{"spec", spec.as_json},
          {"specPath", spec.file.filename().string()},
          {"specSha256", lock.spec_sha256},
          {"lockSha256", lock_sha256}}},
        {"internalParameters", {{"rbuildVersion", lock.rbuild_version}, {"lockVersion", lock.lock_version}}},
        {"resolvedDependencies", deps}}},
      {"runDetails",
       {{"builder", {{"id", std::string("https://github.com/enclave-framework/rbuild@") + EF_VERSION}}},
        {"metadata", {{"invocationId", spec.name + "@" + subject.sha256.substr(0, 16)}}}}},
  };
  return st;
}

std::string dsse_pae(const std::string& payload_type, const std::string& payload) {
  return "DSSEv1 " + std::to_string(payload_type.size()) + " " + payload_type + " " + std::to_string(payload.size()) +
         " " + payload;
}

namespace {

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(const std::string& in, const std::string& where) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0 || in.size() % 4 != 0) throw Error(where + ": payload is not valid base64");
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

const nlohmann::json& at(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing field '" + key + "'");
  return j.at(key);
}

std::string str(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json& v = at(j, key, where);
  if (!v.is_string()) throw Error(where + ": field '" + key + "' must be a string");
  return v.get<std::string>();
}

}  // namespace

nlohmann::ordered_json dsse_envelope(const std::string& statement, EVP_PKEY* key, const std::string& keyid) {
  std::string pae = dsse_pae(kInTotoPayloadType, statement);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  std::string sig;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha384(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(pae.data()), pae.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                        reinterpret_cast<const unsigned char*>(pae.data()), pae.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw Error("OpenSSL: cannot sign the provenance envelope");
  return {{"payloadType", kInTotoPayloadType},
          {"payload", base64_encode(statement)},
          {"signatures", {{{"keyid", keyid}, {"sig", base64_encode(sig)}}}}};
}

void dsse_verify(const std::string& envelope_text, X509* cert, const std::string& file) {
  nlohmann::json env = nlohmann::json::parse(envelope_text, nullptr, false);
  if (env.is_discarded() || !env.is_object()) throw Error(file + ": not a JSON DSSE envelope");
  std::string payload = base64_decode(str(env, "payload", file), file);
  std::string pae = dsse_pae(str(env, "payloadType", file), payload);
  const nlohmann::json& sigs = at(env, "signatures", file);
  if (!sigs.is_array() || sigs.empty()) throw Error(file + ": DSSE envelope has no signatures");
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  for (const auto& s : sigs) {
    std::string sig = base64_decode(str(s, "sig", file + ": signatures[]"), file);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha384(), nullptr, pub) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                               reinterpret_cast<const unsigned char*>(pae.data()), pae.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) throw Error(file + ": DSSE signature does not verify with the image's signing certificate");
  }
}

ProvenanceClaims read_provenance(const std::string& text, const std::string& file) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(file + ": not valid JSON");
  ProvenanceClaims c;
  if (j.is_object() && j.contains("payloadType")) {
    if (str(j, "payloadType", file) != kInTotoPayloadType) throw Error(file + ": DSSE payloadType is not in-toto");
    j = nlohmann::json::parse(base64_decode(str(j, "payload", file), file), nullptr, false);
    if (j.is_discarded()) throw Error(file + ": DSSE payload is not valid JSON");
    c.signed_envelope = true;
  }
  if (str(j, "_type", file) != kStatementType) throw Error(file + ": _type is not an in-toto Statement v1");
  if (str(j, "predicateType", file) != kSlsaPredicateType) throw Error(file + ": predicateType is not SLSA v1");
  const nlohmann::json& subjects = at(j, "subject", file);
  if (!subjects.is_array() || subjects.size() != 1) throw Error(file + ": subject must list exactly one EIF");
  const std::string sw = file + ": subject[0]";
  c.subject_name = str(subjects[0], "name", sw);
  c.subject_sha256 = str(at(subjects[0], "digest", sw), "sha256", sw + ".digest");
  c.pcrs = at(subjects[0], "annotations", sw);
  const nlohmann::json& bd = at(at(j, "predicate", file), "buildDefinition", file + ": predicate");
  const nlohmann::json& ext = at(bd, "externalParameters", file + ": buildDefinition");
  c.spec = at(ext, "spec", file + ": externalParameters");
  c.spec_path = str(ext, "specPath", file + ": externalParameters");
  c.dependencies = at(bd, "resolvedDependencies", file + ": buildDefinition");
  return c;
}

}  // namespace ef::build
