// Parses arbitrary bytes as COSE_Sign1 and verifies them against a fixed key.
// Only ef::Error may escape; nothing random may verify.
#include <cstdint>
#include <cstdlib>

#include "attest/cose.h"
#include "attest/ossl.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef;
  static auto key = ossl::generate_ec_key("P-384");
  try {
    cose::Sign1 s = cose::parse_sign1({data, size});
    (void)s.alg();
    cose::verify_sign1(s, key.get());
    std::abort();  // a forged signature for a key made in this process
  } catch (const ef::Error&) {
  }
  try {
    (void)cose::ecdsa_raw_to_der(cose::ecdsa_der_to_raw({data, size}, 48));
  } catch (const ef::Error&) {
  }
  return 0;
}
