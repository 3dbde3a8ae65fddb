// Raw bytes -> Beast request parser (with the server's header/body limits) ->
// ra-web-srv's dispatcher (routing, query decoding, handlers) over a simulated
// NSM and a small file index. Any input must give a response, never a crash.
#include <unistd.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "attest/websrv/api.h"

namespace {

namespace http = boost::beast::http;
using namespace ef::websrv;

struct World {
  std::unique_ptr<ef::attest::SimulatedNsm> sim;
  FileIndex index;
  VrfKey vrf = VrfKey::ephemeral();
  Metrics metrics{Api::route_names()};
  std::unique_ptr<Api> api;

  World() {
    const auto dir = std::filesystem::temp_directory_path() / ("ef_websrv_fuzz_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    sim = std::make_unique<ef::attest::SimulatedNsm>(ef::attest::load_or_create_dev_ca(dir, ef::attest::now_ms()),
                                                     std::map<std::uint16_t, ef::attest::Bytes>{});
    std::filesystem::remove_all(dir);
    IndexFeed feed(index);
    feed.apply_line(R"({"op":"put","path":"/a/b","kind":"file","sha3_512":")" + std::string(128, '1') + R"(","size":3})", 0);
    feed.apply_line(R"({"op":"put","path":"/a","kind":"dir","sha3_512":")" + std::string(128, '2') + R"(","size":0})", 0);
    ApiContext ctx;
    ctx.nsm = sim.get();
    ctx.index = &index;
    ctx.vrf = &vrf;
    ctx.tls_spki_der = ef::attest::Bytes(91, 1);
    ctx.trusted_roots = {sim->root_der()};
    ctx.simulated_nsm = true;
    ctx.metrics = &metrics;
    api = std::make_unique<Api>(std::move(ctx));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  http::request_parser<http::string_body> parser;
  parser.header_limit(8192);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const auto& req = parser.get();
  ApiRequest ar{std::string(req.method_string()), std::string(req.target()), std::string(req[http::field::accept]),
                std::string(req[http::field::content_type]), req.body()};
  ApiResponse r = world.api->handle(ar);
  if (r.status < 200 || r.status > 599) __builtin_trap();
  if (r.stream) {
    std::string out;
    for (int i = 0; i < 1000 && world.api->next_chunk(*r.stream, out); ++i) {
    }
  }
  return 0;
}
