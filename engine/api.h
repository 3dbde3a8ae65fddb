#pragma once
// enclaved's REST/JSON API: maps a parsed request to the engine and back.
// Pure over (request, engine): the server owns sockets, this owns meaning.
// docs/enclaved.md lists every route.

#include "engine/engine.h"
#include "engine/http.h"

namespace ef::engine {

struct ApiContext {
  bool unix_peer = true;  ///< fd passing (/connect) only works over the unix socket
};

class Api {
 public:
  explicit Api(Engine& engine) : engine_(engine) {}
  /// Never throws: errors become JSON error responses (400/404/405/409/422/500).
  http::Response handle(const http::Request& request, const ApiContext& context);

 private:
  http::Response route(const http::Request& request, const ApiContext& context);
  http::Response events(const http::Request& request);
  http::Response logs(const std::string& name, const http::Request& request);
  Engine& engine_;
};

/// Splits "/v1/enclaves/web/stop" into {"v1", "enclaves", "web", "stop"};
/// empty segments (//) and "." / ".." are rejected (nullopt).
std::optional<std::vector<std::string>> split_path(const std::string& path);

}  // namespace ef::engine
