#pragma once
// The versioned HTTP API as a pure function of a request: routing, query
// decoding, handlers over the NSM, the file index and the keys. No sockets here,
// so the whole API runs in unit tests and under the fuzzer.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attest/nsm.h"
#include "attest/websrv/file_index.h"
#include "attest/websrv/metrics.h"
#include "attest/websrv/proof.h"

namespace ef::websrv {

struct ApiRequest {
  std::string method;        ///< "GET", "POST", ...
  std::string target;        ///< origin-form request-target, undecoded
  std::string accept;        ///< Accept header ("" when absent)
  std::string content_type;  ///< Content-Type header
  std::string body;
};

/// A /v1/files listing produced in pieces (chunked transfer), walking the index
/// with a cursor so memory stays bounded whatever the index size.
struct FileStream {
  std::string prefix;
  bool cbor = false;
  std::string cursor;  ///< last path emitted
  bool started = false;
  bool done = false;
  std::uint64_t count = 0;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers (Allow, ...)
  std::optional<FileStream> stream;  ///< when set, the body is produced by Api::next_chunk
  std::size_t route = SIZE_MAX;      ///< index into Api::route_names(), SIZE_MAX when unmatched
};

struct ApiContext {
  nsm::NsmDevice* nsm = nullptr;  ///< must be thread-safe
  FileIndex* index = nullptr;
  const VrfKey* vrf = nullptr;
  Bytes tls_spki_der;             ///< the TLS key's SubjectPublicKeyInfo
  std::string tls_cert_pem;
  std::string tls_key_type;
  std::vector<Bytes> trusted_roots;  ///< DER roots for POST /v1/verify/attestation
  bool simulated_nsm = false;
  Metrics* metrics = nullptr;        ///< optional
  std::function<bool()> ready;       ///< optional extra readiness condition
};

/// Hard limits of the API.
inline constexpr std::size_t kMaxNonceBytes = 64;
inline constexpr std::size_t kMaxUserDataBytes = 512;
inline constexpr std::size_t kMaxRandomBytes = 4096;
inline constexpr std::size_t kListChunkEntries = 256;

class Api {
 public:
  explicit Api(ApiContext ctx);

  /// Routes and answers one request. Never throws: bad input becomes 400/404/405/
  /// 413/422 with {"error", "field"}, an unexpected failure 500 (logged).
  ApiResponse handle(const ApiRequest& request) const;

  /// The next piece of a streamed listing, appended to `out`; false once the
  /// closing piece has been produced.
  bool next_chunk(FileStream& stream, std::string& out) const;

  /// Route label values for metrics, in route order.
  static std::vector<std::string> route_names();

  const ApiContext& context() const { return ctx_; }

 /// GET /v1/pcrs bodies (JSON, CBOR) once every listed PCR is locked: locked
  /// PCRs cannot change, so they are read from the module once.
  struct PcrCache {
    std::string json, cbor;
  };
  std::shared_ptr<const PcrCache> pcr_cache() const;
  void set_pcr_cache(std::shared_ptr<const PcrCache> cache) const;

 private:
  ApiContext ctx_;
  mutable std::mutex pcr_mu_;
  mutable std::shared_ptr<const PcrCache> pcr_cache_;
};

/// True when the Accept header asks for CBOR ("application/cbor" anywhere in it).
bool wants_cbor(std::string_view accept);

}  // namespace ef::websrv
