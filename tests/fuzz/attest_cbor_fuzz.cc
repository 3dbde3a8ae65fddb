// Decodes arbitrary bytes as CBOR. Invariants: only ef::Error escapes; a decoded
// value re-encodes to a canonical form that is a fixed point of decode+encode.
#include <cstdint>
#include <cstdlib>

#include "attest/cbor.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef;
  try {
    const cbor::Value v = cbor::decode({data, size});
    const cbor::Bytes once = cbor::encode(v);
    const cbor::Bytes twice = cbor::encode(cbor::decode(once));
    if (once != twice) std::abort();
    (void)v.diagnostic();
    auto p = cbor::decode_prefix({data, size});
    if (p.size != size) std::abort();
  } catch (const ef::Error&) {
  }
  try {
    auto p = cbor::decode_prefix({data, size});
    if (p.size == 0 || p.size > size) std::abort();
  } catch (const ef::Error&) {
  }
  return 0;
}
