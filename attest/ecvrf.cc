#include "attest/ecvrf.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include <memory>

#include "attest/ossl.h"
#include "base/error.h"
#include "base/hash.h"

namespace ef::ecvrf {
namespace {

constexpr std::uint8_t kSuite = 0x01;
constexpr std::size_t kCLen = 16;
constexpr std::size_t kQLen = 32;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
struct GroupFree {
  void operator()(EC_GROUP* g) const { EC_GROUP_free(g); }
};
struct CtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct MontFree {
  void operator()(BN_MONT_CTX* m) const { BN_MONT_CTX_free(m); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Point = std::unique_ptr<EC_POINT, PointFree>;

/// Raised inside verification for any malformed input; verify() turns it into INVALID.
struct Invalid {};

class Curve {
 public:
  Curve() : group_(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)), ctx_(BN_CTX_new()), mont_(BN_MONT_CTX_new()) {
    if (!group_ || !ctx_ || !mont_) ossl::fail("ECVRF: cannot set up P-256");
    p_ = bn();
    a_ = bn();
    b_ = bn();
    sqrt_exp_ = bn();
    if (EC_GROUP_get_curve(group_.get(), p_.get(), a_.get(), b_.get(), ctx_.get()) != 1 ||
        BN_MONT_CTX_set(mont_.get(), p_.get(), ctx_.get()) != 1 || BN_copy(sqrt_exp_.get(), p_.get()) == nullptr ||
        BN_add_word(sqrt_exp_.get(), 1) != 1 || BN_rshift(sqrt_exp_.get(), sqrt_exp_.get(), 2) != 1 ||
        !(a_m_ = bn()) || BN_to_montgomery(a_m_.get(), a_.get(), mont_.get(), ctx_.get()) != 1 ||
        !(b_m_ = bn()) || BN_to_montgomery(b_m_.get(), b_.get(), mont_.get(), ctx_.get()) != 1)
      ossl::fail("ECVRF: cannot set up P-256");
  }
  const EC_GROUP* group() const { return group_.get(); }
  BN_CTX* ctx() const { return ctx_.get(); }
  const BIGNUM* order() const { return EC_GROUP_get0_order(group_.get()); }

  Bn bn() const {
    Bn b(BN_new());
    if (!b) ossl::fail("ECVRF: out of memory");
    return b;
  }
  Bn bn(std::span<const std::uint8_t> be) const {
    Bn b(BN_bin2bn(be.data(), static_cast<int>(be.size()), nullptr));
    if (!b) ossl::fail("ECVRF: out of memory");
    return b;
  }
  Point point() const {
    Point p(EC_POINT_new(group_.get()));
    if (!p) ossl::fail("ECVRF: out of memory");
    return p;
  }
  /// string_to_point: a 33-byte compressed point on the curve; nullptr otherwise.
  /// What EC_POINT_oct2point accepts (x < p, x^3 + ax + b a square mod p), with
  /// the square root done here: p = 3 mod 4, so y = (x^3 + ax + b)^((p+1)/4),
  /// computed with a Montgomery context made once (OpenSSL's BN_mod_sqrt makes
  /// one per call) and checked by squaring it back, all in Montgomery form.
  Point decode(std::span<const std::uint8_t> s) const {
    if (s.size() != 33 || (s[0] != 0x02 && s[0] != 0x03)) return nullptr;
    BN_CTX* ctx = ctx_.get();
    BN_MONT_CTX* m = mont_.get();
    BN_CTX_start(ctx);
    Point result;
    BIGNUM* x = BN_CTX_get(ctx);
    BIGNUM* xm = BN_CTX_get(ctx);
    BIGNUM* rhs_m = BN_CTX_get(ctx);
    BIGNUM* t = BN_CTX_get(ctx);
    BIGNUM* y = BN_CTX_get(ctx);
    if (!y || !BN_bin2bn(s.data() + 1, 32, x)) {
      BN_CTX_end(ctx);
      ossl::fail("ECVRF: out of memory");
    }
    // rhs = (x^2 + a)*x + b, in Montgomery form; then y = rhs^((p+1)/4) and y^2 == rhs.
    const bool square =
        BN_cmp(x, p_.get()) < 0 && BN_to_montgomery(xm, x, m, ctx) == 1 && BN_mod_mul_montgomery(t, xm, xm, m, ctx) == 1 &&
        BN_mod_add_quick(t, t, a_m_.get(), p_.get()) == 1 && BN_mod_mul_montgomery(rhs_m, t, xm, m, ctx) == 1 &&
        BN_mod_add_quick(rhs_m, rhs_m, b_m_.get(), p_.get()) == 1 && BN_from_montgomery(t, rhs_m, m, ctx) == 1 &&
        BN_mod_exp_mont(y, t, sqrt_exp_.get(), p_.get(), ctx, m) == 1 && BN_to_montgomery(xm, y, m, ctx) == 1 &&
        BN_mod_mul_montgomery(t, xm, xm, m, ctx) == 1 && BN_cmp(t, rhs_m) == 0;
    if (square && !BN_is_zero(y)) {
      const bool ok_y = BN_is_odd(y) == (s[0] == 0x03) || BN_sub(y, p_.get(), y) == 1;
      Point p = point();
      if (ok_y && EC_POINT_set_affine_coordinates(group_.get(), p.get(), x, y, ctx) == 1) result = std::move(p);
    }
    BN_CTX_end(ctx);
    ERR_clear_error();
    return result;
  }
  Bytes encode(const EC_POINT* p) const {
    Bytes out(33);
    if (EC_POINT_is_at_infinity(group_.get(), p) ||
        EC_POINT_point2oct(group_.get(), p, POINT_CONVERSION_COMPRESSED, out.data(), out.size(), ctx_.get()) != 33)
      ossl::fail("ECVRF: cannot encode point");
    return out;
  }
  /// n*B + m*Q (either term may be absent).
  Point mul(const BIGNUM* n, const EC_POINT* q, const BIGNUM* m) const {
    Point r = point();
    if (EC_POINT_mul(group_.get(), r.get(), n, q, m, ctx_.get()) != 1) ossl::fail("ECVRF: point multiplication failed");
    return r;
  }
  /// n*P + m*Q in one multi-scalar multiplication (shared doublings).
  Point mul2(const EC_POINT* p, const BIGNUM* n, const EC_POINT* q, const BIGNUM* m) const {
    Point r = point();
    const EC_POINT* points[] = {p, q};
    const BIGNUM* scalars[] = {n, m};
    // EC_POINTs_mul is deprecated in OpenSSL 3 but is its only public
    // multi-point multiplication (EC_POINT_mul takes one point besides the generator).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const int ok = EC_POINTs_mul(group_.get(), r.get(), nullptr, 2, points, scalars, ctx_.get());
#pragma GCC diagnostic pop
    if (ok != 1) ossl::fail("ECVRF: point multiplication failed");
    return r;
  }

 private:
  std::unique_ptr<EC_GROUP, GroupFree> group_;
  std::unique_ptr<BN_CTX, CtxFree> ctx_;
  std::unique_ptr<BN_MONT_CTX, MontFree> mont_;
  Bn p_, a_, b_, sqrt_exp_;  ///< field prime, curve coefficients, (p+1)/4
  Bn a_m_, b_m_;             ///< a and b in Montgomery form
};

Bytes to_bytes(const BIGNUM* b, std::size_t len) {
  Bytes out(len);
  if (BN_bn2binpad(b, out.data(), static_cast<int>(len)) != static_cast<int>(len)) throw Error("ECVRF: integer too wide");
  return out;
}

/// SHA-256 of the concatenated parts, with the digest fetched once and a context
/// per thread (a Hasher fetches SHA-256 from the provider on every use).
class Sha256 {
 public:
  Sha256() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> tctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    ctx_ = tctx.get();
    if (!md || !ctx_ || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) ossl::fail("ECVRF: cannot start SHA-256");
  }
  void update(std::span<const std::uint8_t> part) {
    if (EVP_DigestUpdate(ctx_, part.data(), part.size()) != 1) ossl::fail("ECVRF: SHA-256 failed");
  }
  Bytes finish() {
    Bytes out(32);
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != 32) ossl::fail("ECVRF: SHA-256 failed");
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

Bytes sha256(std::initializer_list<std::span<const std::uint8_t>> parts) {
  Sha256 h;
  for (auto p : parts) h.update(p);
  return h.finish();
}

Bytes one(std::uint8_t b) { return Bytes{b}; }

Bn secret_scalar(const Curve& c, std::span<const std::uint8_t> sk) {
  if (sk.size() != kSecretKeySize) throw Error("ECVRF: secret key must be 32 bytes");
  Bn x = c.bn(sk);
  if (BN_is_zero(x.get()) || BN_cmp(x.get(), c.order()) >= 0) throw Error("ECVRF: secret key out of range");
  return x;
}

/// encode_to_curve_try_and_increment (RFC 9381 §5.4.1.1). `h_string` (when
/// given) receives point_to_string(H), which is the candidate that decoded.
Point encode_to_curve(const Curve& c, std::span<const std::uint8_t> pk, std::span<const std::uint8_t> alpha, int* ctr_out,
                      Bytes* h_string = nullptr) {
  for (int ctr = 0; ctr < 256; ++ctr) {
    const Bytes hash = sha256({one(kSuite), one(0x01), pk, alpha, one(static_cast<std::uint8_t>(ctr)), one(0x00)});
    Bytes candidate = {0x02};
    candidate.insert(candidate.end(), hash.begin(), hash.end());
    if (Point h = c.decode(candidate)) {
      if (ctr_out) *ctr_out = ctr;
      if (h_string) *h_string = std::move(candidate);
      return h;
    }
  }
  throw Error("ECVRF: encode_to_curve found no point in 256 tries");
}

Bytes hmac(std::span<const std::uint8_t> key, std::initializer_list<std::span<const std::uint8_t>> parts) {
  Bytes msg;
  for (auto p : parts) msg.insert(msg.end(), p.begin(), p.end());
  Bytes out(32);
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), out.data(), &len))
    ossl::fail("ECVRF: HMAC failed");
  return out;
}

/// RFC 6979 §3.2 with SHA-256, m = h_string; qlen = hlen = 256 bits.
Bn nonce(const Curve& c, const BIGNUM* x, std::span<const std::uint8_t> h_string) {
  const Bytes h1 = sha256({h_string});
  Bn z = c.bn(h1);
  if (BN_cmp(z.get(), c.order()) >= 0) BN_sub(z.get(), z.get(), c.order());
  const Bytes x_oct = to_bytes(x, kQLen);
  const Bytes h_oct = to_bytes(z.get(), kQLen);
  Bytes v(32, 0x01);
  Bytes k(32, 0x00);
  k = hmac(k, {v, one(0x00), x_oct, h_oct});
  v = hmac(k, {v});
  k = hmac(k, {v, one(0x01), x_oct, h_oct});
  v = hmac(k, {v});
  for (;;) {
    v = hmac(k, {v});
    Bn candidate = c.bn(v);
    if (!BN_is_zero(candidate.get()) && BN_cmp(candidate.get(), c.order()) < 0) return candidate;
    k = hmac(k, {v, one(0x00)});
    v = hmac(k, {v});
  }
}

/// challenge_generation (RFC 9381 §5.4.3) over point_to_string of each point:
/// the first 16 bytes of the hash, as an integer.
Bn challenge(const Curve& c, std::initializer_list<std::span<const std::uint8_t>> encoded_points) {
  Sha256 h;
  h.update(one(kSuite));
  h.update(one(0x02));
  for (auto p : encoded_points) h.update(p);
  h.update(one(0x00));
  const Bytes full = h.finish();
  return c.bn(std::span(full).first(kCLen));
}

/// proof_to_hash from point_to_string(Gamma) (the cofactor of P-256 is 1).
Bytes gamma_to_hash(std::span<const std::uint8_t> gamma_string) {
  return sha256({one(kSuite), one(0x03), gamma_string, one(0x00)});
}

const Curve& curve() {
  thread_local Curve c;
  return c;
}

}  // namespace

Bytes public_key(std::span<const std::uint8_t> sk) {
  const Curve& c = curve();
  Bn x = secret_scalar(c, sk);
  return c.encode(c.mul(x.get(), nullptr, nullptr).get());
}

Bytes generate_secret_key() {
  const Curve& c = curve();
  Bn x = c.bn();
  do {
    if (BN_priv_rand_range(x.get(), c.order()) != 1) ossl::fail("ECVRF: no randomness");
  } while (BN_is_zero(x.get()));
  return to_bytes(x.get(), kSecretKeySize);
}

Bytes prove(std::span<const std::uint8_t> sk, std::span<const std::uint8_t> alpha) {
  const Curve& c = curve();
  Bn x = secret_scalar(c, sk);
  Point y = c.mul(x.get(), nullptr, nullptr);
  const Bytes pk = c.encode(y.get());
  Bytes h_string;
  Point h = encode_to_curve(c, pk, alpha, nullptr, &h_string);
  Point gamma = c.mul(nullptr, h.get(), x.get());
  Bn k = nonce(c, x.get(), h_string);
  Point u = c.mul(k.get(), nullptr, nullptr);
  Point v = c.mul(nullptr, h.get(), k.get());
  Bn ch = challenge(c, {pk, h_string, c.encode(gamma.get()), c.encode(u.get()), c.encode(v.get())});
  Bn s = c.bn();
  if (BN_mod_mul(s.get(), ch.get(), x.get(), c.order(), c.ctx()) != 1 ||
      BN_mod_add(s.get(), s.get(), k.get(), c.order(), c.ctx()) != 1)
    ossl::fail("ECVRF: scalar arithmetic failed");
  Bytes pi = c.encode(gamma.get());
  const Bytes c_oct = to_bytes(ch.get(), kCLen);
  const Bytes s_oct = to_bytes(s.get(), kQLen);
  pi.insert(pi.end(), c_oct.begin(), c_oct.end());
  pi.insert(pi.end(), s_oct.begin(), s_oct.end());
  return pi;
}

Bytes proof_to_hash(std::span<const std::uint8_t> pi) {
  const Curve& c = curve();
  if (pi.size() != kProofSize) throw Error("ECVRF: proof must be 81 bytes");
  Point gamma = c.decode(pi.first(33));
  if (!gamma) throw Error("ECVRF: proof's Gamma is not a point on P-256");
  return gamma_to_hash(c.encode(gamma.get()));
}

struct PublicKey::Point {
  ecvrf::Point p;
};

std::optional<PublicKey> PublicKey::decode(std::span<const std::uint8_t> pk) {
  ecvrf::Point y = curve().decode(pk);
  if (!y) return std::nullopt;
  PublicKey k;
  k.bytes_.assign(pk.begin(), pk.end());
  k.point_ = std::make_shared<const Point>(Point{std::move(y)});
  return k;
}

std::optional<Bytes> verify(const PublicKey& key, std::span<const std::uint8_t> alpha, std::span<const std::uint8_t> pi) {
  const Curve& c = curve();
  try {
    if (pi.size() != kProofSize) throw Invalid{};
    // A decoded point's string is the input itself: string_to_point accepts
    // only the canonical compressed encoding (x < p), so point_to_string(Gamma)
    // = pi[0..33) and point_to_string(Y) = PK, and neither is decoded twice.
    const auto gamma_string = pi.first(33);
    Point gamma = c.decode(gamma_string);
    if (!gamma) throw Invalid{};
    Bn ch = c.bn(pi.subspan(33, kCLen));
    Bn s = c.bn(pi.subspan(33 + kCLen, kQLen));
    if (BN_cmp(s.get(), c.order()) >= 0) throw Invalid{};
    Bytes h_string;
    Point h = encode_to_curve(c, key.bytes(), alpha, nullptr, &h_string);
    // U = s*B - c*Y ; V = s*H - c*Gamma: two double-scalar multiplications.
    Bn neg_c = c.bn();
    BN_sub(neg_c.get(), c.order(), ch.get());
    const EC_POINT* y = key.point().p.get();
    Point u = c.mul(s.get(), y, neg_c.get());
    Point v = c.mul2(h.get(), s.get(), gamma.get(), neg_c.get());
    if (EC_POINT_is_at_infinity(c.group(), u.get()) || EC_POINT_is_at_infinity(c.group(), v.get())) throw Invalid{};
    Bn expected = challenge(c, {key.bytes(), h_string, gamma_string, c.encode(u.get()), c.encode(v.get())});
    if (BN_cmp(expected.get(), ch.get()) != 0) throw Invalid{};
    return gamma_to_hash(gamma_string);
  } catch (const Invalid&) {
    ERR_clear_error();
    return std::nullopt;
  }
}

std::optional<Bytes> verify(std::span<const std::uint8_t> pk, std::span<const std::uint8_t> alpha,
                            std::span<const std::uint8_t> pi) {
  const std::optional<PublicKey> key = PublicKey::decode(pk);
  if (!key) return std::nullopt;
  return verify(*key, alpha, pi);
}

namespace detail {

Bytes encode_to_curve(std::span<const std::uint8_t> pk, std::span<const std::uint8_t> alpha, int* ctr) {
  const Curve& c = curve();
  return c.encode(ecvrf::encode_to_curve(c, pk, alpha, ctr).get());
}

Bytes nonce(std::span<const std::uint8_t> sk, std::span<const std::uint8_t> h_string) {
  const Curve& c = curve();
  Bn x = secret_scalar(c, sk);
  return to_bytes(ecvrf::nonce(c, x.get(), h_string).get(), kQLen);
}

std::pair<Bytes, Bytes> commitments(std::span<const std::uint8_t> k, std::span<const std::uint8_t> h_string) {
  const Curve& c = curve();
  Bn kk = c.bn(k);
  Point h = c.decode(h_string);
  if (!h) throw Error("ECVRF: H is not a point");
  return {c.encode(c.mul(kk.get(), nullptr, nullptr).get()), c.encode(c.mul(nullptr, h.get(), kk.get()).get())};
}

}  // namespace detail
}  // namespace ef::ecvrf
