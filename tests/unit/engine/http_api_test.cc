#include <catch2/catch.hpp>
#include <sys/socket.h>

#include <variant>

#include "engine/api.h"
#include "engine/http.h"
#include "engine/websocket.h"
#include "helpers.h"

using namespace ef::engine;

namespace {

http::Request parse_ok(const std::string& head) {
  auto r = http::parse_head(head);
  REQUIRE(std::holds_alternative<http::Request>(r));
  return std::get<http::Request>(r);
}

int parse_status(const std::string& head) {
  auto r = http::parse_head(head);
  if (std::holds_alternative<http::Request>(r)) return 0;
  return std::get<http::ParseError>(r).status;
}

http::Request make(const std::string& method, const std::string& target, const std::string& body = "") {
  auto r = parse_ok(method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
  r.body = body;
  return r;
}

std::string error_of(const http::Response& r) { return nlohmann::json::parse(r.body)["error"]["message"]; }

}  // namespace

TEST_CASE("request heads parse, with decoded paths and queries") {
  auto r = parse_ok("GET /v1/enclaves/web%2D1/logs?follow=1&tail=10&x=a+b HTTP/1.1\r\nHost: e\r\nX-A:  v \r\n\r\n");
  CHECK(r.method == "GET");
  CHECK(r.path == "/v1/enclaves/web-1/logs");
  CHECK(r.query["follow"] == "1");
  CHECK(r.query["x"] == "a b");
  CHECK(r.header("x-a") == "v");
}

TEST_CASE("hostile request heads get the right status") {
  CHECK(parse_status("GET / HTTP/1.1\r\n\r\n") == 0);
  CHECK(parse_status("GET / HTTP/2.0\r\n\r\n") == 505);
  CHECK(parse_status("get / HTTP/1.1\r\n\r\n") == 400);
  CHECK(parse_status("GET  / HTTP/1.1\r\n\r\n") == 400);
  CHECK(parse_status("GET x HTTP/1.1\r\n\r\n") == 400);
  CHECK(parse_status("GET /%zz HTTP/1.1\r\n\r\n") == 400);
  CHECK(parse_status("GET /%00 HTTP/1.1\r\n\r\n") == 400);
  CHECK(parse_status("GET /a%2 HTTP/1.1\r\n\r\n") == 400);
  CHECK(parse_status("GET / HTTP/1.1\r\nNo colon\r\n\r\n") == 400);
  CHECK(parse_status("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n") == 400);
  CHECK(parse_status("GET / HTTP/1.1\r\nA: \x01\r\n\r\n") == 400);
  CHECK(parse_status("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 400);
  CHECK(parse_status("GET /" + std::string(5000, 'a') + " HTTP/1.1\r\n\r\n") == 414);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 70; ++i) many += "H" + std::to_string(i) + ": v\r\n";
  CHECK(parse_status(many + "\r\n") == 431);
  CHECK(parse_status("GET / HTTP/1.1\r\n" + std::string(17000, 'a') + "\r\n\r\n") == 431);
  auto te = parse_ok("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(std::get<http::ParseError>(http::body_length(te)).status == 501);
  auto big = parse_ok("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n");
  CHECK(std::get<http::ParseError>(http::body_length(big)).status == 413);
  auto neg = parse_ok("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
  CHECK(std::get<http::ParseError>(http::body_length(neg)).status == 400);
}

TEST_CASE("read_request over a socket: body, truncation, timeout") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  std::string req = "POST /v1/enclaves HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  REQUIRE(write(sv[0], req.data(), req.size()) == static_cast<ssize_t>(req.size()));
  auto r = http::read_request(sv[1], 1000);
  REQUIRE(std::holds_alternative<http::Request>(r));
  CHECK(std::get<http::Request>(r).body == "hello");
  std::string partial = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
  REQUIRE(write(sv[0], partial.data(), partial.size()) == static_cast<ssize_t>(partial.size()));
  auto t = http::read_request(sv[1], 200);
  CHECK(std::get<http::ParseError>(t).status == 408);
  close(sv[0]);
  close(sv[1]);
}

TEST_CASE("WebSocket accept key matches RFC 6455's example") {
  CHECK(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(ws::is_upgrade("websocket", "keep-alive, Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13"));
  CHECK_FALSE(ws::is_upgrade("websocket", "Upgrade", "short", "13"));
  CHECK_FALSE(ws::is_upgrade("h2c", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13"));
  auto f = ws::text_frame(std::string(300, 'x'));
  CHECK(static_cast<unsigned char>(f[0]) == 0x81);
  CHECK(f[1] == 126);
  CHECK(f.size() == 304);
}

TEST_CASE("path splitting refuses dot segments and empty ones") {
  CHECK(split_path("/v1/enclaves/web") == std::vector<std::string>{"v1", "enclaves", "web"});
  CHECK(split_path("/v1/enclaves/") == std::vector<std::string>{"v1", "enclaves"});
  CHECK_FALSE(split_path("/v1//enclaves"));
  CHECK_FALSE(split_path("/v1/../etc"));
  CHECK_FALSE(split_path("/v1/./x"));
  CHECK_FALSE(split_path("v1"));
}

TEST_CASE("API routes and its errors") {
  auto dir = test::temp_dir("api");
  auto engine = test::make_engine(dir);
  engine->start();
  Api api(*engine);
  ApiContext ctx;
  CHECK(api.handle(make("GET", "/v1/version"), ctx).status == 200);
  CHECK(api.handle(make("GET", "/nope"), ctx).status == 404);
  CHECK(api.handle(make("PUT", "/v1/enclaves"), ctx).status == 405);
  CHECK(api.handle(make("PUT", "/v1/enclaves"), ctx).headers.at("Allow") == "GET, POST");
  CHECK(api.handle(make("POST", "/v1/enclaves", "{bad"), ctx).status == 422);
  CHECK(error_of(api.handle(make("POST", "/v1/enclaves", "{bad"), ctx)) == "request body: not valid JSON");
  CHECK(api.handle(make("POST", "/v1/enclaves", "[]"), ctx).status == 422);
  CHECK(error_of(api.handle(make("POST", "/v1/enclaves", R"({"name":"x","image":"/x","colour":1})"), ctx)) ==
        "spec.colour: unknown key");
  CHECK(api.handle(make("GET", "/v1/enclaves/UPPER"), ctx).status == 422);
  CHECK(api.handle(make("GET", "/v1/enclaves/missing"), ctx).status == 404);
  CHECK(api.handle(make("GET", "/v1/events?since=abc"), ctx).status == 422);
  CHECK(api.handle(make("POST", "/v1/compose/up", R"({"project":"p","enclaves":[]})"), ctx).status == 422);
  CHECK(api.handle(make("POST", "/v1/compose/down", R"({"project":"p","x":1})"), ctx).status == 422);

  std::string body = to_json(test::spec_named("web")).dump();
  auto created = api.handle(make("POST", "/v1/enclaves", body), ctx);
  REQUIRE(created.status == 201);
  CHECK(api.handle(make("POST", "/v1/enclaves", body), ctx).status == 409);
  auto list = nlohmann::json::parse(api.handle(make("GET", "/v1/enclaves"), ctx).body);
  CHECK(list["enclaves"].size() == 1);
  CHECK(list["enclaves"][0]["status"] == "running");
  CHECK(api.handle(make("DELETE", "/v1/enclaves/web"), ctx).status == 409);
  CHECK(api.handle(make("POST", "/v1/enclaves/web/connect"), ctx).status == 400);
  CHECK(api.handle(make("POST", "/v1/enclaves/web/connect?port=7000"), ApiContext{false}).status == 400);
  auto conn = api.handle(make("POST", "/v1/enclaves/web/connect?port=7000"), ctx);
  CHECK(conn.status == 200);
  CHECK(conn.pass_fd.valid());
  auto metrics = api.handle(make("GET", "/metrics"), ctx);
  CHECK_THAT(metrics.body, Catch::Contains("enclaved_enclaves{status=\"running\"} 1"));
  // Non-following event stream: NDJSON with the started event.
  auto ev = api.handle(make("GET", "/v1/events?since=0"), ctx);
  REQUIRE(ev.stream);
  std::string out;
  ev.stream([&](std::string_view d) {
    out += d;
    return true;
  });
  CHECK_THAT(out, Catch::Contains("\"type\":\"started\""));
  CHECK(api.handle(make("POST", "/v1/enclaves/web/stop"), ctx).status == 200);
  CHECK(api.handle(make("DELETE", "/v1/enclaves/web"), ctx).status == 200);
  CHECK(api.handle(make("DELETE", "/v1/enclaves/web"), ctx).status == 404);
  engine->shutdown();
  std::filesystem::remove_all(dir);
}
