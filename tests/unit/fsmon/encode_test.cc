#include <catch2/catch.hpp>

#include "attest/fsmon/encode.h"

using namespace ef::fsmon;

// Expected digests computed independently with python3 hashlib.sha3_512 over the
// byte strings the definition in docs/fs-monitor.md describes, e.g.
//   h(b'f ' + A + b' B\n' + b'd ' + A + b' a\n' + b'f ' + B + b' b.txt\n')
namespace {
const std::string kA =
    "697f2d856172cb8309d6b8b97dac4de344b549d4dee61edfb4962d8698b7fa803f4f93ff24393586e28b5b957ac3d1d369420ce53332712f997"
    "bd336d09ab02a";  // sha3_512("a")
const std::string kB =
    "8446c46ee03793ba6e5813ba0db4480008926dd1d19efe2c8eb92f9034da974d2171ae483f29ce3a79ed4fdd621ae1ed14fe12532af95ddd072"
    "8779ce5aa842d";  // sha3_512("b")
}  // namespace

TEST_CASE("dir_hash of an empty directory is SHA3-512 of nothing") {
  CHECK(dir_hash({}) ==
        "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a615b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e"
        "301758586281dcd26");
}

TEST_CASE("dir_hash sorts children bytewise and marks kinds") {
  std::vector<DirChild> c = {{"b.txt", Kind::kFile, kB}, {"a", Kind::kDir, kA}, {"B", Kind::kFile, kA}};
  CHECK(dir_hash(c) ==
        "7e59dc3d241fa61c8acd0c97b328850c3949032f93c45ac31d34cb6801ae3f920431e7fd6f14eea0419c2faf6adf5cf2597c2676697a5ff"
        "b94bd74efc52409c4");
  std::reverse(c.begin(), c.end());
  CHECK(dir_hash(c) == dir_hash({{"B", Kind::kFile, kA}, {"a", Kind::kDir, kA}, {"b.txt", Kind::kFile, kB}}));
}

TEST_CASE("dir_hash compares raw bytes unsigned (0xff after UTF-8 lead bytes)") {
  std::vector<DirChild> c = {{"\xff", Kind::kFile, kB}, {"\xc3\xa9", Kind::kFile, kA}};
  CHECK(dir_hash(c) ==
        "628f44d9d8ef5639dd021fb91e72f5a27894ecf2741ec2346c58a25d1640f4cdb5113a24b9ff78e95c2d36c86e04d683c350cb4af9373b2"
        "d368a1bca268af27a");
}

TEST_CASE("json_string escapes quotes, backslashes, controls and stray bytes") {
  CHECK(json_string("plain/path") == "\"plain/path\"");
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(json_string(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\\u007f\"");
  CHECK(json_string(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(json_string("\xc3\xa9") == "\"\xc3\xa9\"");                  // é passes through
  CHECK(json_string("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");  // 4-byte UTF-8
  CHECK(json_string("\xff") == "\"\\u00ff\"");                       // not UTF-8
  CHECK(json_string("\xc3") == "\"\\u00c3\"");                       // truncated sequence
  CHECK(json_string("\xc0\xaf") == "\"\\u00c0\\u00af\"");            // overlong '/'
  CHECK(json_string("\xed\xa0\x80") == "\"\\u00ed\\u00a0\\u0080\""); // surrogate
  CHECK(json_string("\xf4\x90\x80\x80") == "\"\\u00f4\\u0090\\u0080\\u0080\"");  // above U+10FFFF
}

TEST_CASE("IPC lines follow the brief exactly") {
  std::string h(128, 'a');
  CHECK(ipc_put("/d/f", Kind::kFile, h, 123) ==
        "{\"op\":\"put\",\"path\":\"/d/f\",\"kind\":\"file\",\"sha3_512\":\"" + h + "\",\"size\":123}\n");
  CHECK(ipc_put("/d", Kind::kDir, h, 0) ==
        "{\"op\":\"put\",\"path\":\"/d\",\"kind\":\"dir\",\"sha3_512\":\"" + h + "\",\"size\":0}\n");
  CHECK(ipc_del("/d/\"x\"") == "{\"op\":\"del\",\"path\":\"/d/\\\"x\\\"\"}\n");
  CHECK(ipc_snapshot_begin() == "{\"op\":\"snapshot_begin\"}\n");
  CHECK(ipc_snapshot_end() == "{\"op\":\"snapshot_end\"}\n");
  // A newline in a name never splits a line.
  CHECK(ipc_del("/a\nb").find('\n') == ipc_del("/a\nb").size() - 1);
}

TEST_CASE("base64url: RFC 4648 test vectors, URL alphabet, no padding") {
  CHECK(base64url("") == "");
  CHECK(base64url("f") == "Zg");
  CHECK(base64url("fo") == "Zm8");
  CHECK(base64url("foo") == "Zm9v");
  CHECK(base64url("foob") == "Zm9vYg");
  CHECK(base64url("fooba") == "Zm9vYmE");
  CHECK(base64url("foobar") == "Zm9vYmFy");
  CHECK(base64url("\xfb\xff") == "-_8");  // '+' and '/' become '-' and '_'
}

TEST_CASE("KV keys and prefixes") {
  CHECK(kv_key("", "/a") == "L2E");
  CHECK(kv_key("enc1.files", "/a") == "enc1.files.L2E");
  CHECK(valid_kv_prefix(""));
  CHECK(valid_kv_prefix("enc-1.files_x"));
  CHECK_FALSE(valid_kv_prefix(".a"));
  CHECK_FALSE(valid_kv_prefix("a."));
  CHECK_FALSE(valid_kv_prefix("a..b"));
  CHECK_FALSE(valid_kv_prefix("a b"));
  CHECK_FALSE(valid_kv_prefix("a*"));
  CHECK_FALSE(valid_kv_prefix("a>"));
}

TEST_CASE("KV value JSON") {
  std::string h(128, 'b');
  CHECK(kv_value("/m/x", Kind::kFile, h, 7, 1700000000123) ==
        "{\"path\":\"/m/x\",\"sha3_512\":\"" + h + "\",\"size\":7,\"kind\":\"file\",\"time\":\"2023-11-14T22:13:20.123Z\"}");
}

TEST_CASE("normalize_path") {
  CHECK(normalize_path("/a//b/./c/") == "/a/b/c");
  CHECK(normalize_path("/a/b/../c") == "/a/c");
  CHECK(normalize_path("/../..") == "/");
  CHECK(normalize_path("/") == "/");
  CHECK(normalize_path("x/y", "/cwd") == "/cwd/x/y");
}
