#include <catch2/catch.hpp>

#include "base/error.h"
#include "base/hash.h"
#include "runtime/agent/frame.h"
#include "runtime/agent/messages.h"

using namespace ef;
using namespace ef::agent;

TEST_CASE("frame layout: type u8, length u32 big-endian, payload") {
  Bytes out;
  const Bytes payload{0xde, 0xad};
  encode_frame(FrameType::kStdout, payload, out);
  CHECK(out == Bytes{0x21, 0, 0, 0, 2, 0xde, 0xad});
}

TEST_CASE("parser yields frames across arbitrary splits") {
  Bytes stream;
  encode_frame(FrameType::kHello, Bytes(34, 7), stream);
  encode_frame(FrameType::kDataEnd, {}, stream);
  encode_frame(FrameType::kData, Bytes(1000, 1), stream);
  for (std::size_t step : {1u, 3u, 5u, 64u, 5000u}) {
    FrameParser p;
    std::vector<Frame> got;
    for (std::size_t i = 0; i < stream.size(); i += step) {
      p.feed(std::span(stream).subspan(i, std::min(step, stream.size() - i)));
      while (auto f = p.next()) got.push_back(std::move(*f));
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0].type == FrameType::kHello);
    CHECK(got[0].payload == Bytes(34, 7));
    CHECK(got[1].type == FrameType::kDataEnd);
    CHECK(got[1].payload.empty());
    CHECK(got[2].payload.size() == 1000);
    CHECK(p.buffered() == 0);
  }
}

TEST_CASE("parser refuses unknown types and oversized lengths, naming the offset") {
  FrameParser p("test stream");
  Bytes ok;
  encode_frame(FrameType::kOk, {}, ok);
  p.feed(ok);
  CHECK(p.next());
  const Bytes bad{0x99, 0, 0, 0, 0};
  p.feed(bad);
  CHECK_THROWS_WITH(p.next(), Catch::Contains("test stream") && Catch::Contains("offset 5") &&
                                  Catch::Contains("unknown frame type 0x99"));
  FrameParser q("s");
  const Bytes big{0x30, 0x00, 0x10, 0x00, 0x01};  // 1 MiB + 1
  q.feed(big);
  CHECK_THROWS_WITH(q.next(), Catch::Contains("DATA frame length 1048577 exceeds the limit of 1048576"));
  Bytes out;
  CHECK_THROWS_WITH(encode_frame(FrameType::kData, Bytes(kMaxPayload + 1), out), Catch::Contains("exceeds the limit"));
}

TEST_CASE("HELLO and AUTH are exact sizes") {
  Hello h;
  h.nonce.fill(0x42);
  const Bytes e = encode_hello(h);
  REQUIRE(e.size() == 34);
  CHECK(e[0] == 0);
  CHECK(e[1] == 1);
  CHECK(decode_hello(e).nonce == h.nonce);
  Bytes shorter(e.begin(), e.end() - 1), longer = e;
  longer.push_back(0);
  CHECK_THROWS_WITH(decode_hello(shorter), Catch::Contains("truncated nonce"));
  CHECK_THROWS_WITH(decode_hello(longer), Catch::Contains("1 unexpected trailing bytes"));

  Auth a{Bytes(91, 1), Bytes(70, 2)};
  const Bytes ae = encode_auth(a);
  CHECK(ae.size() == 2 + 91 + 2 + 70);
  CHECK(ae[0] == 0);
  CHECK(ae[1] == 91);
  CHECK(decode_auth(ae).signature == a.signature);
  CHECK_THROWS_WITH(decode_auth(Bytes{0, 0}), Catch::Contains("spki length 0"));
  CHECK_THROWS_WITH(decode_auth(Bytes{0, 1, 9, 0, 0}), Catch::Contains("signature length 0"));
}

TEST_CASE("auth message: context || sha256(document) || challenge") {
  const Bytes doc{'d', 'o', 'c'}, challenge(32, 0xcc);
  const Bytes m = auth_message(doc, challenge);
  REQUIRE(m.size() == 17 + 32 + 32);
  CHECK(std::string(m.begin(), m.begin() + 17) == std::string("ef-agent-auth-v1\0", 17));
  // sha256("doc") computed independently (python3 hashlib / sha256sum).
  CHECK(to_hex(std::span(m).subspan(17, 32)) == "139d544b821b13ebea14f1b0fe18577222e415c2966e3a3511c4196055232202");
  CHECK(Bytes(m.begin() + 49, m.end()) == challenge);
}

TEST_CASE("JSON requests: strict keys and types") {
  ExecSpec e;
  e.argv = {"sh", "-c", "true"};
  e.env = {"A=1"};
  e.tty = true;
  const ExecSpec d = decode_exec(encode_exec(e));
  CHECK(d.argv == e.argv);
  CHECK(d.env == e.env);
  CHECK(d.tty);
  auto bytes = [](std::string s) { return Bytes(s.begin(), s.end()); };
  CHECK_THROWS_WITH(decode_exec(bytes(R"({"argv":["x"],"evil":1})")), Catch::Contains("unknown key \"evil\""));
  CHECK_THROWS_WITH(decode_exec(bytes(R"({"argv":[]})")), Catch::Contains("must name a program"));
  CHECK_THROWS_WITH(decode_exec(bytes(R"({"argv":["x"],"env":["NOEQUALS"]})")), Catch::Contains("not NAME=VALUE"));
  CHECK_THROWS_WITH(decode_exec(bytes(R"({"argv":["x"],"tty":"yes"})")), Catch::Contains("true or false"));
  CHECK_THROWS_WITH(decode_exec(bytes(R"([[[[[[1]]]]]])")), Catch::Contains("nested deeper"));
  CHECK_THROWS_WITH(decode_exec(bytes("{")), Catch::Contains("not valid JSON"));
  CHECK(decode_path_request(encode_path_request("dest", "/data"), "dest", "CP_IN") == "/data");
  CHECK_THROWS_WITH(decode_path_request(bytes(R"({"dest":""})"), "dest", "CP_IN"), Catch::Contains("empty"));
  CHECK(decode_logs(encode_logs({"web", true})).follow);
}

TEST_CASE("secret names") {
  for (const char* good : {"a", "db-password", "TLS.key", "x_1"}) CHECK_NOTHROW(validate_secret_name(good));
  for (const char* bad : {"", "../x", "a/b", ".hidden", "-x", "a b"}) CHECK_THROWS(validate_secret_name(bad));
  CHECK_THROWS(validate_secret_name(std::string(129, 'a')));
  const Bytes e = encode_secret_put({"k", Bytes{1, 2, 3}});
  CHECK(e == Bytes{0, 1, 'k', 1, 2, 3});
  CHECK(decode_secret_put(e).value == Bytes{1, 2, 3});
  CHECK_THROWS_WITH(decode_secret_put(Bytes{0, 2, '.', '.', 1}), Catch::Contains("secret name"));
}

TEST_CASE("EXIT, SIGNAL, ERROR") {
  CHECK(encode_exit(-1) == Bytes{0xff, 0xff, 0xff, 0xff});
  CHECK(decode_exit(encode_exit(137)) == 137);
  CHECK(decode_signal(Bytes{15}) == 15);
  CHECK_THROWS(decode_signal(Bytes{0}));
  CHECK_THROWS(decode_signal(Bytes{65}));
  const ErrorMsg m = decode_error(encode_error({ErrorCode::kRefused, "no"}));
  CHECK(m.code == ErrorCode::kRefused);
  CHECK(m.message == "no");
  CHECK_THROWS_WITH(decode_error(Bytes{0, 1, 0xff}), Catch::Contains("UTF-8"));
}
