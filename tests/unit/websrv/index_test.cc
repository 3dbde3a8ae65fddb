#include <catch2/catch.hpp>

#include "attest/websrv/file_index.h"
#include "base/error.h"

using namespace ef::websrv;

namespace {

const std::string kHashA(128, 'a');
const std::string kHashB(128, 'b');

std::string put(const std::string& path, const std::string& hash, const char* kind = "file", int size = 1) {
  return R"({"op":"put","path":")" + path + R"(","kind":")" + kind + R"(","sha3_512":")" + hash +
         R"(","size":)" + std::to_string(size) + "}";
}
std::string del(const std::string& path) { return R"({"op":"del","path":")" + path + R"("})"; }

std::uint64_t error_offset(IndexFeed& feed, const std::string& line, std::uint64_t offset) {
  try {
    feed.apply_line(line, offset);
  } catch (const ef::FormatError& e) {
    return e.offset();
  }
  FAIL("expected a FormatError for " << line);
  return 0;
}

}  // namespace

TEST_CASE("file index: puts and dels outside a snapshot apply at once") {
  FileIndex index;
  IndexFeed feed(index);
  feed.apply_line(put("/etc/a", kHashA), 0);
  auto e = index.get("/etc/a");
  REQUIRE(e);
  CHECK(e->sha3_512[0] == 0xaa);
  CHECK(e->kind == FileEntry::Kind::kFile);
  CHECK(e->size == 1);
  feed.apply_line(put("/etc/a", kHashB), 10);
  CHECK(index.get("/etc/a")->sha3_512[0] == 0xbb);
  feed.apply_line(del("/etc/a"), 20);
  CHECK_FALSE(index.get("/etc/a"));
  CHECK_FALSE(index.has_snapshot());
}

TEST_CASE("file index: del of a directory removes its subtree only") {
  FileIndex index;
  IndexFeed feed(index);
  for (const char* p : {"/d", "/d/x", "/d/sub/y", "/d2", "/d2/z", "/c"}) feed.apply_line(put(p, kHashA), 0);
  feed.apply_line(del("/d"), 0);
  CHECK_FALSE(index.get("/d"));
  CHECK_FALSE(index.get("/d/x"));
  CHECK_FALSE(index.get("/d/sub/y"));
  CHECK(index.get("/d2"));
  CHECK(index.get("/d2/z"));
  CHECK(index.get("/c"));
  feed.apply_line(del("/"), 0);
  CHECK(index.size() == 0);
}

TEST_CASE("file index: snapshot staging swaps in atomically at snapshot_end") {
  FileIndex index;
  IndexFeed feed(index);
  feed.apply_line(put("/old", kHashA), 0);
  feed.apply_line(R"({"op":"snapshot_begin"})", 0);
  CHECK(feed.in_snapshot());
  feed.apply_line(put("/new", kHashB), 0);
  feed.apply_line(put("/gone", kHashB), 0);
  feed.apply_line(del("/gone"), 0);
  // Nothing visible yet: the old state stays until snapshot_end.
  CHECK(index.get("/old"));
  CHECK_FALSE(index.get("/new"));
  feed.apply_line(R"({"op":"snapshot_end"})", 0);
  CHECK_FALSE(feed.in_snapshot());
  CHECK(index.has_snapshot());
  CHECK_FALSE(index.get("/old"));
  CHECK(index.get("/new"));
  CHECK_FALSE(index.get("/gone"));
  CHECK(index.size() == 1);
}

TEST_CASE("file index: a connection that ends mid-snapshot leaves the index alone") {
  FileIndex index;
  {
    IndexFeed feed(index);
    feed.apply_line(put("/keep", kHashA), 0);
    feed.apply_line(R"({"op":"snapshot_begin"})", 0);
    feed.apply_line(put("/half", kHashA), 0);
  }
  CHECK(index.get("/keep"));
  CHECK_FALSE(index.get("/half"));
  // A second snapshot_begin restarts the staging.
  IndexFeed feed(index);
  feed.apply_line(R"({"op":"snapshot_begin"})", 0);
  feed.apply_line(put("/first", kHashA), 0);
  feed.apply_line(R"({"op":"snapshot_begin"})", 0);
  feed.apply_line(put("/second", kHashA), 0);
  feed.apply_line(R"({"op":"snapshot_end"})", 0);
  CHECK_FALSE(index.get("/first"));
  CHECK(index.get("/second"));
}

TEST_CASE("file index: malformed lines are FormatErrors with the byte offset") {
  FileIndex index;
  IndexFeed feed(index);
  CHECK(error_offset(feed, "not json", 100) == 101);  // the fault is the "o" after "n"
  CHECK(error_offset(feed, R"({"op":"put","path":"/a",)", 200) >= 200);
  CHECK(error_offset(feed, "[1,2]", 5) == 5);
  CHECK(error_offset(feed, R"({"op":"frobnicate"})", 7) == 7);
  CHECK(error_offset(feed, R"({"op":1})", 7) == 7);
  CHECK(error_offset(feed, R"({"path":"/a"})", 7) == 7);
  CHECK(error_offset(feed, R"({"op":"snapshot_end"})", 9) == 9);
  CHECK(error_offset(feed, put("relative/p", kHashA), 1) == 1);
  CHECK(error_offset(feed, put("/a/../b", kHashA), 1) == 1);
  CHECK(error_offset(feed, put("/a//b", kHashA), 1) == 1);
  CHECK(error_offset(feed, put("/a", std::string(127, 'a')), 1) == 1);
  CHECK(error_offset(feed, put("/a", std::string(127, 'a') + "g"), 1) == 1);
  CHECK(error_offset(feed, put("/a", kHashA, "symlink"), 1) == 1);
  CHECK(error_offset(feed, R"({"op":"put","path":"/a","kind":"file","sha3_512":")" + kHashA + R"(","size":-1})", 3) == 3);
  CHECK(error_offset(feed, R"({"op":"put","path":"/a","kind":"file","sha3_512":")" + kHashA + R"("})", 3) == 3);
  CHECK(error_offset(feed, R"({"op":"del"})", 3) == 3);
  CHECK(error_offset(feed, std::string(60000, '[') + std::string(60000, ']'), 3) == 3);
  CHECK(error_offset(feed, R"({"op":"put","size":5e99999})", 3) == 3);  // nlohmann out_of_range, not parse_error
  CHECK(index.size() == 0);
  // Unknown extra keys are ignored (forward compatibility).
  feed.apply_line(R"({"op":"put","path":"/a","kind":"dir","sha3_512":")" + kHashA + R"(","size":0,"mtime":5})", 0);
  CHECK(index.get("/a")->kind == FileEntry::Kind::kDir);
}

TEST_CASE("file index: list walks a prefix with a cursor") {
  FileIndex index;
  IndexFeed feed(index);
  for (const char* p : {"/a", "/b/1", "/b/2", "/b/3", "/c"}) feed.apply_line(put(p, kHashA), 0);
  auto first = index.list("/b/", "", 2);
  REQUIRE(first.size() == 2);
  CHECK(first[0].first == "/b/1");
  CHECK(first[1].first == "/b/2");
  auto rest = index.list("/b/", first.back().first, 2);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].first == "/b/3");
  CHECK(index.list("/", "", 100).size() == 5);
  CHECK(index.list("/zzz", "", 100).empty());
}
