// The EIF reader on arbitrary bytes: open (structure), CRC, measurements,
// metadata and the signature section must report faults, never crash.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "builder/describe.h"
#include "builder/eif_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    std::string p = "/tmp/ef-fuzz-eif-" + std::to_string(::getpid());
    return p;
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    ef::eif::EifImage image = ef::eif::EifImage::open(path);
    ef::eif::Description d = ef::eif::describe(image);
    (void)ef::eif::description_json(image, d).dump();
  } catch (const ef::Error&) {
  }
  return 0;
}
