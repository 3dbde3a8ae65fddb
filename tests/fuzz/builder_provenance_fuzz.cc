// The provenance reader (an in-toto Statement or a DSSE envelope of one) on
// arbitrary bytes: every fault is an ef::Error naming the file and the field,
// never a crash or a nlohmann/base64 fault escaping.
#include <cstdint>
#include <string>

#include "base/error.h"
#include "builder/provenance.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    ef::build::ProvenanceClaims c = ef::build::read_provenance(text, "fuzz.provenance.json");
    (void)c.pcrs.dump();
    (void)c.spec.dump();
    (void)c.dependencies.dump();
  } catch (const ef::Error&) {
  }
  return 0;
}
