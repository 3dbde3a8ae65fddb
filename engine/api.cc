#include "engine/api.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "base/log.h"
#include "engine/compose_runner.h"
#include "engine/websocket.h"

namespace ef::engine {
namespace {

http::Response json_response(int status, const nlohmann::json& j) {
  http::Response r;
  r.status = status;
  r.body = j.dump() + "\n";
  return r;
}

nlohmann::json parse_body(const http::Request& req) {
  if (req.body.empty()) throw Error("request body: expected a JSON object");
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded()) throw Error("request body: not valid JSON");
  if (!j.is_object()) throw Error("request body: expected a JSON object");
  return j;
}

/// A query flag: "1", "true", "yes" are true; absent or "0"/"false" false.
bool flag(const http::Request& req, const std::string& key) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return false;
  if (it->second == "1" || it->second == "true" || it->second == "yes" || it->second.empty()) return true;
  if (it->second == "0" || it->second == "false" || it->second == "no") return false;
  throw Error("query " + key + "=" + it->second + ": expected 1 or 0");
}

std::uint64_t number(const http::Request& req, const std::string& key, std::uint64_t fallback, std::uint64_t max) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return fallback;
  const std::string& v = it->second;
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos || std::stoull(v) > max)
    throw Error("query " + key + "=" + v + ": expected a number up to " + std::to_string(max));
  return std::stoull(v);
}

/// Offset where the last `lines` lines of the file start (a final newline
/// does not start another line).
off_t tail_offset(int fd, std::uint64_t lines) {
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0) return 0;
  char last = 0;
  off_t pos = size;
  if (pread(fd, &last, 1, size - 1) == 1 && last == '\n') pos = size - 1;
  std::uint64_t seen = 0;
  char block[4096];
  while (pos > 0) {
    off_t from = pos > static_cast<off_t>(sizeof block) ? pos - static_cast<off_t>(sizeof block) : 0;
    ssize_t n = pread(fd, block, static_cast<std::size_t>(pos - from), from);
    if (n <= 0) return 0;
    for (ssize_t i = n - 1; i >= 0; --i)
      if (block[i] == '\n' && ++seen == lines) return from + i + 1;
    pos = from;
  }
  return 0;
}

struct BadRequest : Error {
  using Error::Error;
};

/// Turns a stream into a WebSocket one when the client asked to upgrade.
bool maybe_upgrade(const http::Request& req, http::Response& r) {
  if (req.header("upgrade").empty()) return false;
  if (!ws::is_upgrade(req.header("upgrade"), req.header("connection"), req.header("sec-websocket-key"),
                      req.header("sec-websocket-version")))
    throw BadRequest("bad WebSocket upgrade request (need Upgrade: websocket, Connection: Upgrade, version 13, a key)");
  r.status = 101;
  r.headers["Upgrade"] = "websocket";
  r.headers["Connection"] = "Upgrade";
  r.headers["Sec-WebSocket-Accept"] = ws::accept_key(req.header("sec-websocket-key"));
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> split_path(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return std::nullopt;
  if (path == "/") return out;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    std::string seg = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (slash == std::string::npos && seg.empty() && !out.empty()) break;  // trailing slash
    if (seg.empty() || seg == "." || seg == "..") return std::nullopt;
    out.push_back(seg);
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

http::Response Api::handle(const http::Request& req, const ApiContext& ctx) {
  engine_.counters().api_requests++;
  http::Response r;
  try {
    r = route(req, ctx);
  } catch (const NotFound& e) {
    r = http::error_response(404, e.what());
  } catch (const Conflict& e) {
    r = http::error_response(409, e.what());
  } catch (const BadRequest& e) {
    r = http::error_response(400, e.what());
  } catch (const Error& e) {
    r = http::error_response(422, e.what());
  } catch (const std::exception& e) {
    log::error("API request failed", {{"target", req.target}, {"error", e.what()}});
    r = http::error_response(500, std::string("internal error: ") + e.what());
  }
  if (r.status >= 400) engine_.counters().api_errors++;
  return r;
}

http::Response Api::route(const http::Request& req, const ApiContext& ctx) {
  auto segs = split_path(req.path);
  if (!segs) throw BadRequest("bad path '" + req.path + "'");
  const auto& s = *segs;
  const std::string& m = req.method;
  auto method_not_allowed = [&](const char* allowed) {
    auto r = http::error_response(405, m + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
    r.headers["Allow"] = allowed;
    return r;
  };
  if (s.size() == 1 && s[0] == "metrics") {
    if (m != "GET") return method_not_allowed("GET");
    http::Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = engine_.metrics_text();
    return r;
  }
  if (s.empty() || s[0] != "v1") throw NotFound("no route " + req.path + " (the API lives under /v1, see docs/enclaved.md)");
  if (s.size() == 2 && s[1] == "version") {
    if (m != "GET") return method_not_allowed("GET");
    return json_response(200, {{"version", EF_VERSION}, {"api", "v1"}, {"default_backend", engine_.config().default_backend}});
  }
  if (s.size() == 2 && s[1] == "enclaves") {
    if (m == "GET") {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& r : engine_.list()) list.push_back(to_json(r));
      return json_response(200, {{"enclaves", list}});
    }
    if (m == "POST") {
      auto body = parse_body(req);
      EnclaveSpec spec = spec_from_json(body);
      return json_response(201, to_json(engine_.run(std::move(spec))));
    }
    return method_not_allowed("GET, POST");
  }
  if (s.size() >= 3 && s[1] == "enclaves") {
    const std::string& name = s[2];
    check_name(name);
    if (s.size() == 3) {
      if (m == "GET") return json_response(200, to_json(engine_.inspect(name)));
      if (m == "DELETE") {
        engine_.remove(name, flag(req, "force"));
        return json_response(200, {{"removed", name}});
      }
      return method_not_allowed("GET, DELETE");
    }
    if (s.size() == 4 && s[3] == "stop") {
      if (m != "POST") return method_not_allowed("POST");
      return json_response(200, to_json(engine_.stop(name)));
    }
    if (s.size() == 4 && s[3] == "logs") {
      if (m != "GET") return method_not_allowed("GET");
      return logs(name, req);
    }
    if (s.size() == 4 && s[3] == "connect") {
      if (m != "POST") return method_not_allowed("POST");
      if (!ctx.unix_peer) throw BadRequest("connect passes a file descriptor and works over the unix socket only");
      auto port = number(req, "port", 0, 0xffffffffu);
      if (port == 0) throw BadRequest("connect needs ?port=N (the enclave's vsock port)");
      http::Response r = json_response(200, {{"enclave", name}, {"port", port}});
      r.pass_fd = engine_.connect(name, static_cast<std::uint32_t>(port));
      r.headers["X-EF-Passed-Fd"] = "1";
      return r;
    }
  }
  if (s.size() == 2 && s[1] == "events") {
    if (m != "GET") return method_not_allowed("GET");
    return events(req);
  }
  if (s.size() == 3 && s[1] == "compose" && (s[2] == "up" || s[2] == "down")) {
    if (m != "POST") return method_not_allowed("POST");
    auto body = parse_body(req);
    ComposeResult res;
    if (s[2] == "up") {
      ComposeFile c = compose_from_json(body);
      auto timeout = body.contains("timeout_ms") && body.at("timeout_ms").is_number_unsigned()
                         ? std::chrono::milliseconds(std::min<std::uint64_t>(body.at("timeout_ms").get<std::uint64_t>(), 3600000))
                         : std::chrono::milliseconds(120000);
      res = compose_up(engine_, c, timeout);
    } else {
      if (!body.contains("project") || !body.at("project").is_string() || body.size() != 1)
        throw Error("compose down body: expected {\"project\": NAME}");
      res = compose_down(engine_, body.at("project").get<std::string>());
    }
    return json_response(200, {{"started", res.started}, {"kept", res.kept}, {"removed", res.removed}});
  }
  throw NotFound("no route " + m + " " + req.path + " (see docs/enclaved.md)");
}

http::Response Api::events(const http::Request& req) {
  std::int64_t since = static_cast<std::int64_t>(number(req, "since", 0, 1ull << 53));
  bool follow = flag(req, "follow");
  std::string only = req.query.count("enclave") ? req.query.at("enclave") : "";
  http::Response r;
  r.content_type = "application/x-ndjson";
  bool websocket = maybe_upgrade(req, r);
  if (websocket) follow = true;
  Engine& engine = engine_;
  r.stream = [&engine, since, follow, only, websocket](const std::function<bool(std::string_view)>& write) {
    std::int64_t seq = since;
    while (true) {
      auto batch = engine.events_after(seq, follow ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(0));
      for (const auto& e : batch) {
        seq = e.seq;
        if (!only.empty() && e.enclave != only) continue;
        std::string line = to_json(e).dump();
        if (!write(websocket ? ws::text_frame(line) : line + "\n")) return;
      }
      if (!follow) return;
      if (batch.empty() && !write("")) return;  // probe: the client went away
    }
  };
  return r;
}

http::Response Api::logs(const std::string& name, const http::Request& req) {
  bool follow = flag(req, "follow");
  std::uint64_t tail = number(req, "tail", 0, 1u << 20);
  std::filesystem::path file = engine_.console_log(name);
  if (file.empty()) throw Conflict("enclave " + name + " has no console log (Nitro keeps one in debug mode only)");
  http::Response r;
  r.content_type = "text/plain; charset=utf-8";
  bool websocket = maybe_upgrade(req, r);
  Engine& engine = engine_;
  r.stream = [&engine, name, file, follow, tail, websocket](const std::function<bool(std::string_view)>& write) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    if (tail > 0) lseek(fd.get(), tail_offset(fd.get(), tail), SEEK_SET);
    char buf[16384];
    int idle = 0;
    while (true) {
      ssize_t n = read(fd.get(), buf, sizeof buf);
      if (n > 0) {
        idle = 0;
        std::string_view chunk(buf, static_cast<std::size_t>(n));
        if (!write(websocket ? ws::text_frame(chunk) : std::string(chunk))) return;
        continue;
      }
      if (!follow) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (++idle % 10 == 0) {
        if (!write("")) return;
        try {
          auto rec = engine.inspect(name);
          if (rec.status != Status::running && rec.status != Status::restarting) return;
        } catch (const Error&) {
          return;
        }
      }
    }
  };
  return r;
}

}  // namespace ef::engine
