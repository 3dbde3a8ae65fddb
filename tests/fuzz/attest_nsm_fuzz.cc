// Feeds arbitrary bytes to the NSM protocol decoders (both directions) and to the
// simulated module's byte interface. Only ef::Error may escape the decoders; the
// module always answers with a well-formed response of at most 12 KiB.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "attest/nsm.h"
#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef;
  static const std::unique_ptr<attest::SimulatedNsm> sim = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("ef_nsm_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto s = std::make_unique<attest::SimulatedNsm>(attest::load_or_create_dev_ca(dir, attest::now_ms()),
                                                     std::map<std::uint16_t, nsm::Bytes>{});
    std::filesystem::remove_all(dir);
    return s;
  }();
  try {
    const nsm::Request r = nsm::decode_request({data, size});
    if (nsm::encode_request(nsm::decode_request(nsm::encode_request(r))) != nsm::encode_request(r)) std::abort();
  } catch (const ef::Error&) {
  }
  try {
    const nsm::Response r = nsm::decode_response({data, size});
    if (nsm::encode_response(nsm::decode_response(nsm::encode_response(r))) != nsm::encode_response(r)) std::abort();
  } catch (const ef::Error&) {
  }
  const nsm::Bytes answer = nsm::serve_bytes(*sim, {data, size});
  if (answer.size() > nsm::kMaxResponseSize) std::abort();
  (void)nsm::decode_response(answer);  // must not throw
  return 0;
}
