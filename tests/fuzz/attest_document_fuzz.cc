// Runs arbitrary bytes through the whole verifier (COSE, payload, chain, policy)
// and through the payload parser alone. Only ef::Error may escape the parsers;
// the verifier itself never throws, and nothing random may pass it.
#include <cstdint>
#include <cstdlib>

#include "attest/document.h"
#include "attest/verify.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef::attest;
  VerifyOptions options;
  options.time_source = TimeSource::kDocument;
  options.policy.max_age_ms = 1000;
  options.now_ms = 0;
  const VerifyResult r = verify_attestation({data, size}, options);
  if (r.ok()) std::abort();
  (void)r.to_json().dump();
  try {
    const AttestationDocument doc = parse_document_payload({data, size});
    if (parse_document_payload(encode_document_payload(doc)).pcrs != doc.pcrs) std::abort();
  } catch (const ef::Error&) {
  }
  return 0;
}
