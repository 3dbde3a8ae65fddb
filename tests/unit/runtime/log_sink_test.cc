#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/fd.h"
#include "base/file.h"
#include "runtime/log_sink.h"
#include "test_util.h"

using namespace ef::init;

TEST_CASE("log sink: console prefix, tail and followers") {
  int p[2];
  REQUIRE(pipe(p) == 0);
  ef::UniqueFd rd(p[0]), wr(p[1]);
  LogSpec spec;
  spec.file = false;
  LogSink sink("web", "", spec, wr.get());
  std::vector<std::string> followed;
  int id = sink.follow([&](std::string_view l) { followed.emplace_back(l); });
  sink.append("hello\nwor");
  sink.append("ld\npartial");
  sink.unfollow(id);
  sink.flush_partial();
  wr.reset();
  char buf[256];
  ssize_t n = read(rd.get(), buf, sizeof buf);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "[web] hello\n[web] world\n[web] partial\n");
  CHECK(followed == std::vector<std::string>{"hello", "world"});
  CHECK(sink.tail(2) == std::vector<std::string>{"world", "partial"});
  CHECK(sink.tail(100).size() == 3);
}

TEST_CASE("log sink: the tail keeps the last lines only") {
  LogSpec spec;
  spec.file = false;
  LogSink sink("x", "", spec, -1);
  for (int i = 0; i < 1500; ++i) sink.append(std::to_string(i) + "\n");
  auto t = sink.tail(5000);
  REQUIRE(t.size() == LogSink::kTailLines);
  CHECK(t.front() == "500");
  CHECK(t.back() == "1499");
}

TEST_CASE("log sink: files rotate by size and keep N old files") {
  test::TempDir dir;
  LogSpec spec;
  spec.console = false;
  spec.max_bytes = 1024;
  spec.keep = 2;
  std::string path = dir / "logs/svc.log";
  LogSink sink("svc", path, spec, -1);
  std::string line(100, 'a');
  line += '\n';  // 101 bytes: 10 lines fit in 1024
  for (int i = 0; i < 35; ++i) sink.append(line);
  namespace fs = std::filesystem;
  // 35 lines = 10 + 10 + 10 + 5: two rotations kept, the oldest dropped.
  CHECK(fs::file_size(path) == 5 * 101);
  CHECK(fs::file_size(path + ".1") == 10 * 101);
  CHECK(fs::file_size(path + ".2") == 10 * 101);
  CHECK_FALSE(fs::exists(path + ".3"));
}
