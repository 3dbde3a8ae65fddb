#include <catch2/catch.hpp>
#include <sstream>

#include "base/error.h"
#include "runtime/control_protocol.h"
#include "runtime/initctl_format.h"
#include "runtime/metrics.h"

using namespace ef::init;

TEST_CASE("control requests: valid ones") {
  Request r = parse_request(R"({"cmd":"logs","name":"web","tail":5,"follow":true})");
  CHECK(r.cmd == "logs");
  CHECK(r.name == "web");
  CHECK(r.tail == 5);
  CHECK(r.follow);
  CHECK(parse_request(R"({"cmd":"ping"})").cmd == "ping");
  // Round trip through the client's encoder.
  Request back = parse_request(request_json(r).dump());
  CHECK(back.cmd == r.cmd);
  CHECK(back.name == r.name);
  CHECK(back.tail == r.tail);
  CHECK(back.follow == r.follow);
  for (const CommandInfo& c : control_commands()) {
    Request q;
    q.cmd = std::string(c.name);
    if (c.needs_name) q.name.assign(1, 'x');
    CHECK(parse_request(request_json(q).dump()).cmd == c.name);
  }
}

TEST_CASE("control requests: hostile ones get clear errors") {
  CHECK_THROWS_WITH(parse_request("{not json"), "malformed JSON request");
  CHECK_THROWS_WITH(parse_request(""), "malformed JSON request");
  CHECK_THROWS_WITH(parse_request("[1,2]"), "request must be a JSON object");
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"strat","name":"x"})"),
                    "unknown command 'strat' (did you mean 'start'?)");
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"frobnicate"})"), "unknown command 'frobnicate'");
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"stop"})"), "'stop' needs a service 'name'");
  CHECK_THROWS_WITH(parse_request(R"({"cmd":7})"), "'cmd' must be a string");
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"logs","name":"x","tail":-1})"),
                    "'tail' must be an integer from 0 to 10000");
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"ping","extra":1})"), "unknown field 'extra'");
  CHECK_THROWS_WITH(parse_request(R"({})"), "missing 'cmd'");
  std::string deep(100, '[');
  CHECK_THROWS_WITH(parse_request(deep), "request nested too deeply");
  // Brackets inside strings do not count as nesting.
  CHECK_THROWS_WITH(parse_request(R"({"cmd":"[[[[[[[[[[[[[[[[[[[[[[[["})"), Catch::StartsWith("unknown command"));
}

TEST_CASE("initctl formatting") {
  CHECK(format_duration(850) == "850ms");
  CHECK(format_duration(12'000) == "12s");
  CHECK(format_duration(184'000) == "3m04s");
  CHECK(format_duration(7'500'000) == "2h05m");
  CHECK(format_duration(2 * 86'400'000LL + 3 * 3'600'000LL) == "2d03h");
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(512ull << 20) == "512.0 MiB");
  nlohmann::json list = {{"ok", true},
                         {"services",
                          {{{"name", "db"}, {"state", "running"}, {"pid", 42}, {"uptime_ms", 3000}, {"restarts", 0},
                            {"last_exit", ""}},
                           {{"name", "worker"}, {"state", "failed"}, {"pid", 0}, {"uptime_ms", 0}, {"restarts", 3},
                            {"last_exit", "exited with status 1"}}}}};
  CHECK(format_list(list) ==
        "NAME     STATE     PID   UPTIME   RESTARTS   LAST EXIT\n"
        "db       running   42    3s       0          -\n"
        "worker   failed    -     -        3          exited with status 1\n");
}

TEST_CASE("metrics in the Prometheus text format") {
  ServiceStatus up;
  up.name = "web";
  up.state = State::kRunning;
  up.restarts = 2;
  up.exit_code = 1;
  ServiceStatus down;
  down.name = "job";
  down.state = State::kExited;
  std::string m = format_metrics({up, down}, 61'500, 7);
  CHECK(m.find("# TYPE init_uptime_seconds gauge\ninit_uptime_seconds 61\n") != std::string::npos);
  CHECK(m.find("init_orphans_reaped_total 7\n") != std::string::npos);
  CHECK(m.find("init_service_up{service=\"web\"} 1\n") != std::string::npos);
  CHECK(m.find("init_service_up{service=\"job\"} 0\n") != std::string::npos);
  CHECK(m.find("init_service_restarts_total{service=\"web\"} 2\n") != std::string::npos);
  CHECK(m.find("init_service_last_exit_code{service=\"job\"} -1\n") != std::string::npos);
  CHECK(m.find("init_service_state{service=\"job\",state=\"exited\"} 1\n") != std::string::npos);
  // Every line is a comment or `name{labels} value`.
  std::istringstream in(m);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#")) continue;
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    CHECK(line.substr(0, 5) == "init_");
    CHECK_NOTHROW(std::stoll(line.substr(space + 1)));
  }
}
