#include "builder/provenance.h"

#include <openssl/evp.h>

#include <cctype>

#include "base/error.h"
#include "base/hash.h"

namespace ef::build {

nlohmann::ordered_json make_provenance(const Spec& spec, const Lock& lock, const std::string& lock_sha256,
                                       const ProvenanceSubject& subject, const BuildEnvironment& env) {
  nlohmann::ordered_json annotations = eif::measurements_json(subject.pcrs);
  annotations.erase("HashAlgorithm");

  nlohmann::ordered_json internal{{"rbuildVersion", env.rbuild_version.empty() ? lock.rbuild_version : env.rbuild_version},
                                  {"rbuildSha256", env.rbuild_sha256},
                                  {"lockVersion", lock.lock_version}};
  if (!env.toolchain_missing.empty()) internal["toolchainNotInstalled"] = env.toolchain_missing;

  nlohmann::ordered_json external{{"spec", spec.as_json},
                                  {"specPath", spec.file.filename().string()},
                                  {"specSha256", lock.spec_sha256},
                                  {"lockSha256", lock_sha256}};
  if (env.source) {
    // Where the spec sits in the checkout: what `rbuild reproduce` resolves its paths against.
    std::error_code ec;
    std::filesystem::path rel = std::filesystem::weakly_canonical(spec.file, ec)
                                    .lexically_relative(std::filesystem::weakly_canonical(env.source->toplevel, ec));
    if (!ec && !rel.empty() && *rel.begin() != "..") external["specRepositoryPath"] = rel.string();
  }

  nlohmann::ordered_json st;
  st["_type"] = kStatementType;
  st["subject"] = nlohmann::ordered_json::array(
      {{{"name", subject.name}, {"digest", {{"sha256", subject.sha256}}}, {"annotations", annotations}}});
  st["predicateType"] = kSlsaPredicateType;
  st["predicate"] = {
      {"buildDefinition",
       {{"buildType", kBuildType},
        {"externalParameters", external},
        {"internalParameters", internal},
        {"resolvedDependencies", dependencies_json(lock.inputs, env)}}},
      {"runDetails",
       {{"builder", {{"id", std::string(kBuilderIdPrefix) + EF_VERSION}, {"version", {{"rbuild", EF_VERSION}}}}},
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

std::string dsse_base64_decode(const std::string& text, const std::string& where) {
  std::string in = text;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char& c = in[i];
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
      throw Error(where + ": not base64: byte " + std::to_string(static_cast<unsigned char>(c)) + " at offset " +
                  std::to_string(i));
  }
  std::size_t first_pad = in.find('=');
  if (first_pad != std::string::npos && (in.find_first_not_of('=', first_pad) != std::string::npos ||
                                         in.size() - first_pad > 2))
    throw Error(where + ": not base64: '=' padding at offset " + std::to_string(first_pad) + " is not at the end");
  if (in.size() % 4 == 1) throw Error(where + ": not base64: " + std::to_string(in.size()) + " characters is no valid length");
  while (in.size() % 4 != 0) in += '=';
  std::string out(in.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) throw Error(where + ": not valid base64");
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

const EVP_MD* signature_digest_for(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) throw Error("provenance signing: only ECDSA keys are supported");
  switch (EVP_PKEY_get_bits(key)) {
    case 256: return EVP_sha256();
    case 384: return EVP_sha384();
    case 521: return EVP_sha512();
    default: throw Error("provenance signing: an ECDSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                         " bits has no standard hash (use P-256, P-384 or P-521)");
  }
}

nlohmann::ordered_json dsse_envelope(const std::string& statement, EVP_PKEY* key, const std::string& keyid) {
  std::string pae = dsse_pae(kInTotoPayloadType, statement);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  std::string sig;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, signature_digest_for(key), nullptr, key) == 1 &&
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

void dsse_verify_key(const std::string& envelope_text, EVP_PKEY* pub, const std::string& file) {
  nlohmann::json env = nlohmann::json::parse(envelope_text, nullptr, false);
  if (env.is_discarded() || !env.is_object()) throw Error(file + ": not a JSON DSSE envelope");
  std::string payload = dsse_base64_decode(str(env, "payload", file), file + ": payload");
  std::string pae = dsse_pae(str(env, "payloadType", file), payload);
  const nlohmann::json& sigs = at(env, "signatures", file);
  if (!sigs.is_array() || sigs.empty()) throw Error(file + ": DSSE envelope has no signatures");
  const EVP_MD* md = signature_digest_for(pub);
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    std::string where = file + ": signatures[" + std::to_string(i) + "]";
    std::string sig = dsse_base64_decode(str(sigs[i], "sig", where), where + ".sig");
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pub) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                               reinterpret_cast<const unsigned char*>(pae.data()), pae.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) throw Error(where + ": DSSE signature does not verify with the image's signing certificate");
  }
}

void dsse_verify(const std::string& envelope_text, X509* cert, const std::string& file) {
  dsse_verify_key(envelope_text, X509_get0_pubkey(cert), file);
}

ProvenanceClaims read_provenance(const std::string& text, const std::string& file) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(file + ": not valid JSON");
  ProvenanceClaims c;
  if (j.is_object() && j.contains("payloadType")) {
    if (str(j, "payloadType", file) != kInTotoPayloadType) throw Error(file + ": DSSE payloadType is not in-toto");
    j = nlohmann::json::parse(dsse_base64_decode(str(j, "payload", file), file + ": payload"), nullptr, false);
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
  const nlohmann::json& rd = at(at(j, "predicate", file), "runDetails", file + ": predicate");
  c.builder_id = str(at(rd, "builder", file + ": runDetails"), "id", file + ": runDetails.builder");
  c.statement = j;
  return c;
}

}  // namespace ef::build
