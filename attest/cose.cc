#include "attest/cose.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include <memory>

#include "attest/ossl.h"
#include "base/error.h"

namespace ef::cose {
namespace {

constexpr std::uint64_t kSign1Tag = 18;
constexpr std::int64_t kAlgLabel = 1;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using SigPtr = std::unique_ptr<ECDSA_SIG, SigFree>;

const EVP_MD* digest_for(Algorithm alg) {
  switch (alg) {
    case Algorithm::kES256: return EVP_sha256();
    case Algorithm::kES384: return EVP_sha384();
    case Algorithm::kES512: return EVP_sha512();
  }
  throw Error("COSE: unknown algorithm");
}

bool is_supported(std::int64_t alg) {
  return alg == static_cast<std::int64_t>(Algorithm::kES256) || alg == static_cast<std::int64_t>(Algorithm::kES384) ||
         alg == static_cast<std::int64_t>(Algorithm::kES512);
}

MdCtxPtr new_md_ctx() {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) ossl::fail("cannot allocate digest context");
  return ctx;
}

}  // namespace

std::string_view algorithm_name(std::int64_t alg) {
  switch (alg) {
    case -7: return "ES256";
    case -35: return "ES384";
    case -36: return "ES512";
    case -8: return "EdDSA";
    case -37: return "PS256";
    case -38: return "PS384";
    case -39: return "PS512";
    default: return "unsupported alg";
  }
}

Algorithm algorithm_for_key(EVP_PKEY* key) {
  const std::string curve = ossl::ec_curve_name(key);
  if (curve == "P-256") return Algorithm::kES256;
  if (curve == "P-384") return Algorithm::kES384;
  if (curve == "P-521") return Algorithm::kES512;
  throw Error(curve.empty() ? "COSE: key is not an EC key" : "COSE: unsupported curve " + curve);
}

std::size_t coordinate_size(Algorithm alg) {
  switch (alg) {
    case Algorithm::kES256: return 32;
    case Algorithm::kES384: return 48;
    case Algorithm::kES512: return 66;
  }
  throw Error("COSE: unknown algorithm");
}

std::int64_t Sign1::alg() const {
  if (!protected_header.is_map()) throw Error("COSE: protected header is not a map");
  const cbor::Value* alg = protected_header.find(kAlgLabel);
  if (!alg) throw Error("COSE: protected header has no algorithm (label 1)");
  if (!alg->is_integer()) throw Error("COSE: protected algorithm is not an integer: " + cbor::brief(*alg));
  return alg->as_int();
}

Sign1 parse_sign1(std::span<const std::uint8_t> data, std::string_view input_name, const cbor::DecodeLimits& limits) {
  cbor::Value top = cbor::decode(data, limits, input_name);
  Sign1 out;
  if (top.is_tag()) {
    if (top.tag_number() != kSign1Tag)
      throw FormatError(input_name, 0, "expected COSE_Sign1 (tag 18), found tag " + std::to_string(top.tag_number()));
    out.tagged = true;
    top = cbor::Value(top.tag_content());
  }
  // Offsets below point at the start: the structure is judged as a whole.
  auto bad = [&](const std::string& what) { return FormatError(input_name, 0, "COSE_Sign1: " + what); };
  if (!top.is_array() || top.as_array().size() != 4)
    throw bad("expected an array of 4 items, found " + std::string(cbor::kind_name(top.kind())));
  auto& items = top.as_array();
  if (!items[0].is_bytes()) throw bad("protected header is not a byte string");
  if (!items[1].is_map()) throw bad("unprotected header is not a map");
  if (!items[2].is_bytes()) throw bad("payload is not a byte string (detached payloads are not supported)");
  if (!items[3].is_bytes()) throw bad("signature is not a byte string");
  out.protected_bytes = items[0].as_bytes();
  if (out.protected_bytes.empty()) {
    out.protected_header = cbor::Value::map();
  } else {
    out.protected_header = cbor::decode(out.protected_bytes, limits, std::string(input_name) + " protected header");
    if (!out.protected_header.is_map()) throw bad("protected header does not hold a map");
  }
  out.unprotected = std::move(items[1]);
  out.payload = items[2].as_bytes();
  out.signature = items[3].as_bytes();
  return out;
}

Bytes sig_structure(std::span<const std::uint8_t> protected_bytes, std::span<const std::uint8_t> external_aad,
                    std::span<const std::uint8_t> payload) {
  Bytes out;
  cbor::encode_head(out, 4, 4);
  cbor::encode_to(out, cbor::Value::text("Signature1"));
  cbor::encode_head(out, 2, protected_bytes.size());
  out.insert(out.end(), protected_bytes.begin(), protected_bytes.end());
  cbor::encode_head(out, 2, external_aad.size());
  out.insert(out.end(), external_aad.begin(), external_aad.end());
  cbor::encode_head(out, 2, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes sign1(EVP_PKEY* private_key, std::span<const std::uint8_t> payload, std::span<const std::uint8_t> external_aad) {
  const Algorithm alg = algorithm_for_key(private_key);
  cbor::Value header = cbor::Value::map();
  header.insert(cbor::Value::integer(kAlgLabel), cbor::Value::integer(static_cast<std::int64_t>(alg)));
  const Bytes protected_bytes = cbor::encode(header);
  const Bytes tbs = sig_structure(protected_bytes, external_aad, payload);

  auto ctx = new_md_ctx();
  std::size_t der_len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, digest_for(alg), nullptr, private_key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, tbs.data(), tbs.size()) != 1)
    ossl::fail("COSE: cannot start signing");
  Bytes der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, tbs.data(), tbs.size()) != 1) ossl::fail("COSE: signing failed");
  der.resize(der_len);

  cbor::Value msg = cbor::Value::array();
  msg.push(cbor::Value::bytes(protected_bytes));
  msg.push(cbor::Value::map());
  msg.push(cbor::Value::bytes(payload));
  msg.push(cbor::Value::bytes(ecdsa_der_to_raw(der, coordinate_size(alg))));
  return cbor::encode(msg);
}

void verify_sign1(const Sign1& msg, EVP_PKEY* public_key, std::span<const std::uint8_t> external_aad) {
  const std::int64_t alg = msg.alg();
  if (!is_supported(alg))
    throw Error("COSE: algorithm " + std::to_string(alg) + " (" + std::string(algorithm_name(alg)) +
                ") is not ES256/ES384/ES512");
  const Algorithm key_alg = algorithm_for_key(public_key);
  if (static_cast<std::int64_t>(key_alg) != alg)
    throw Error("COSE: protected algorithm " + std::string(algorithm_name(alg)) + " does not match the key's curve (" +
                std::string(algorithm_name(static_cast<std::int64_t>(key_alg))) + ")");
  const std::size_t width = coordinate_size(key_alg);
  if (msg.signature.size() != 2 * width)
    throw Error("COSE: signature is " + std::to_string(msg.signature.size()) + " bytes, expected " +
                std::to_string(2 * width));
  const Bytes der = ecdsa_raw_to_der(msg.signature);
  const Bytes tbs = sig_structure(msg.protected_bytes, external_aad, msg.payload);
  auto ctx = new_md_ctx();
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(key_alg), nullptr, public_key) != 1)
    ossl::fail("COSE: cannot start verification");
  const int ok = EVP_DigestVerify(ctx.get(), der.data(), der.size(), tbs.data(), tbs.size());
  ERR_clear_error();
  if (ok != 1) throw Error("COSE: signature does not verify");
}

void verify_sign1(const Sign1& msg, X509* cert, std::span<const std::uint8_t> external_aad) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (!key) ossl::fail("COSE: certificate has no usable public key");
  verify_sign1(msg, key, external_aad);
}

Bytes ecdsa_der_to_raw(std::span<const std::uint8_t> der, std::size_t width) {
  const unsigned char* p = der.data();
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) {
    ERR_clear_error();
    throw Error("ECDSA: malformed DER signature");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Bytes out(2 * width);
  const int w = static_cast<int>(width);
  if (BN_bn2binpad(r, out.data(), w) != w || BN_bn2binpad(s, out.data() + width, w) != w)
    throw Error("ECDSA: signature value wider than " + std::to_string(width) + " bytes");
  return out;
}

Bytes ecdsa_raw_to_der(std::span<const std::uint8_t> raw) {
  if (raw.empty() || raw.size() % 2 != 0) throw Error("ECDSA: raw signature has odd or zero length");
  const int half = static_cast<int>(raw.size() / 2);
  SigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ossl::fail("ECDSA: cannot build signature");
  }
  const int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0) ossl::fail("ECDSA: cannot encode signature");
  Bytes out(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d_ECDSA_SIG(sig.get(), &p);
  return out;
}

}  // namespace ef::cose
