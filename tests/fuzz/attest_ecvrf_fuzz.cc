// ECVRF verification of hostile keys and proofs: the input is PK (33 bytes) ||
// pi (81 bytes) || alpha. ECVRF decodes points with its own square root, so
// every PK is also decoded by OpenSSL and both must agree; verify() through
// the bytes and through a PublicKey decoded once must agree; a VALID answer
// must carry proof_to_hash(pi). Nothing may throw or crash.
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "attest/ecvrf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef;
  static EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  static EC_POINT* point = EC_POINT_new(group);
  std::span<const std::uint8_t> in(data, size);
  const auto pk = in.first(std::min<std::size_t>(in.size(), ecvrf::kPublicKeySize));
  in = in.subspan(pk.size());
  const auto pi = in.first(std::min<std::size_t>(in.size(), ecvrf::kProofSize));
  const auto alpha = in.subspan(pi.size());

  const auto key = ecvrf::PublicKey::decode(pk);
  const bool openssl_ok = pk.size() == 33 && (pk[0] == 2 || pk[0] == 3) &&
                          EC_POINT_oct2point(group, point, pk.data(), pk.size(), nullptr) == 1;
  ERR_clear_error();
  if (key.has_value() != openssl_ok) std::abort();
  const auto a = ecvrf::verify(pk, alpha, pi);
  if (key) {
    const auto b = ecvrf::verify(*key, alpha, pi);
    if (a != b) std::abort();
  } else if (a) {
    std::abort();
  }
  if (a && *a != ecvrf::proof_to_hash(pi)) std::abort();
  return 0;
}
