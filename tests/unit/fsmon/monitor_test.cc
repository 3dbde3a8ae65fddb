#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "attest/fsmon/monitor.h"
#include "fake_source.h"

using namespace ef::fsmon;
using namespace ef::fsmon::test;
namespace fs = std::filesystem;
using T = FsEvent::Type;
using Clock = Monitor::Clock;

namespace {

// sha3_512("a") and sha3_512("b"), from python3 hashlib.
const std::string kA =
    "697f2d856172cb8309d6b8b97dac4de344b549d4dee61edfb4962d8698b7fa803f4f93ff24393586e28b5b957ac3d1d369420ce53332712f997"
    "bd336d09ab02a";
const std::string kB =
    "8446c46ee03793ba6e5813ba0db4480008926dd1d19efe2c8eb92f9034da974d2171ae483f29ce3a79ed4fdd621ae1ed14fe12532af95ddd072"
    "8779ce5aa842d";

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("fsmon-unit-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string str() const { return path.string(); }
};

void write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

struct Rig {
  TempDir dir;
  FakeSource source;
  HashPool pool{2};
  Index index;
  MonitorOptions opt;
  std::unique_ptr<Monitor> m;
  Clock::time_point now = Clock::now();

  explicit Rig(std::size_t bound = 1024, std::chrono::milliseconds settle = std::chrono::milliseconds(5)) {
    opt.roots = {dir.str()};
    opt.settle = settle;
    opt.queue_bound = bound;
  }
  void start() {
    m = std::make_unique<Monitor>(opt, source, pool, index);
    m->start(now);
  }
  // Drives the monitor with a clock that jumps over every deadline.
  void settle() {
    for (int i = 0; i < 2000 && !(m->idle() && source.events.empty()); ++i) {
      m->pump_events(now);
      m->apply_results(pool.wait(20));
      now += std::chrono::milliseconds(50);
      m->tick(now);
    }
    REQUIRE(m->idle());
  }
  std::string p(const std::string& rel) const { return dir.str() + "/" + rel; }
  bool has(const std::string& rel) const { return index.get(p(rel)).has_value(); }
  std::string hex(const std::string& rel) const { return index.get(p(rel)).value().hex; }
};

}  // namespace

TEST_CASE("initial scan hashes every file and directory") {
  Rig r;
  write(r.p("a"), "a");
  write(r.p("sub/b"), "b");
  r.start();
  r.settle();
  CHECK(r.hex("a") == kA);
  CHECK(r.hex("sub/b") == kB);
  CHECK(r.index.get(r.p("sub"))->kind == Kind::kDir);
  CHECK(r.index.get(r.dir.str())->kind == Kind::kDir);
  CHECK(r.hex("sub") == dir_hash({{"b", Kind::kFile, kB}}));
  CHECK(r.source.watches.count(r.p("sub")) == 1);
}

TEST_CASE("a burst of events on one path within the settle window gives one hash") {
  Rig r(1024, std::chrono::milliseconds(1000));
  r.start();
  r.settle();
  auto hashed0 = r.m->stats().hashed;
  write(r.p("f"), "a");
  for (int i = 0; i < 5; ++i) r.source.push(T::kCloseWrite, r.p("f"));
  r.m->pump_events(r.now);
  r.m->tick(r.now + std::chrono::milliseconds(500));
  CHECK(r.pool.outstanding() == 0);  // still settling
  CHECK_FALSE(r.has("f"));
  r.m->tick(r.now + std::chrono::milliseconds(1001));
  r.m->apply_results(r.pool.wait(2000));
  CHECK(r.m->stats().hashed == hashed0 + 1);
  CHECK(r.hex("f") == kA);
}

TEST_CASE("file rename moves the record; delete drops it") {
  Rig r;
  write(r.p("x"), "a");
  r.start();
  r.settle();
  fs::rename(r.p("x"), r.p("y"));
  r.source.push(T::kMovedFrom, r.p("x"), false, 7);
  r.source.push(T::kMovedTo, r.p("y"), false, 7);
  r.settle();
  CHECK_FALSE(r.has("x"));
  CHECK(r.hex("y") == kA);
  fs::remove(r.p("y"));
  r.source.push(T::kDelete, r.p("y"));
  r.settle();
  CHECK_FALSE(r.has("y"));
  CHECK(r.index.get(r.dir.str())->hex == dir_hash({}));
}

TEST_CASE("directory rename keeps its children under the new path and moves the watches") {
  Rig r;
  write(r.p("d/e/f"), "a");
  write(r.p("d/g"), "b");
  r.start();
  r.settle();
  std::string old_hash = r.hex("d");
  fs::rename(r.p("d"), r.p("n"));
  r.source.push(T::kMovedFrom, r.p("d"), true, 9);
  r.source.push(T::kMovedTo, r.p("n"), true, 9);
  r.settle();
  CHECK_FALSE(r.has("d"));
  CHECK_FALSE(r.has("d/e/f"));
  CHECK(r.hex("n/e/f") == kA);
  CHECK(r.hex("n/g") == kB);
  CHECK(r.hex("n") == old_hash);  // names inside did not change
  CHECK(r.source.watches.count(r.p("n/e")) == 1);
  CHECK(r.source.watches.count(r.p("d/e")) == 0);
}

TEST_CASE("moved out (MOVED_FROM without MOVED_TO) is gone once the window passes") {
  Rig r;
  write(r.p("d/f"), "a");
  write(r.p("loose"), "b");
  r.start();
  r.settle();
  r.source.push(T::kMovedFrom, r.p("d"), true, 11);
  r.source.push(T::kMovedFrom, r.p("loose"), false, 12);
  r.settle();
  CHECK_FALSE(r.has("d"));
  CHECK_FALSE(r.has("d/f"));
  CHECK_FALSE(r.has("loose"));
  CHECK(r.source.watches.count(r.p("d")) == 0);
  for (auto& w : r.source.watches) CHECK(w.rfind("//moving", 0) != 0);  // held watches released
}

TEST_CASE("moved in and created directories are watched and scanned") {
  Rig r;
  r.start();
  r.settle();
  write(r.p("in/deep/f"), "a");  // as if moved in from outside the tree
  r.source.push(T::kMovedTo, r.p("in"), true, 99);
  write(r.p("made/x/y"), "b");   // files that appeared before the watch was added
  r.source.push(T::kCreate, r.p("made"), true);
  r.settle();
  CHECK(r.hex("in/deep/f") == kA);
  CHECK(r.hex("made/x/y") == kB);
  CHECK(r.source.watches.count(r.p("in/deep")) == 1);
  CHECK(r.source.watches.count(r.p("made/x")) == 1);
}

TEST_CASE("ignored paths are neither watched nor published") {
  Rig r;
  r.opt.ignore = IgnoreRules::parse("*.tmp\ncache/\n");
  write(r.p("cache/f"), "a");
  write(r.p("x.tmp"), "a");
  write(r.p("keep"), "a");
  r.start();
  r.settle();
  write(r.p("y.tmp"), "b");
  r.source.push(T::kCloseWrite, r.p("y.tmp"));
  r.settle();
  CHECK(r.has("keep"));
  CHECK_FALSE(r.has("cache"));
  CHECK_FALSE(r.has("cache/f"));
  CHECK_FALSE(r.has("x.tmp"));
  CHECK_FALSE(r.has("y.tmp"));
  CHECK(r.source.watches.count(r.p("cache")) == 0);
}

TEST_CASE("own queue full -> full rescan, nothing lost") {
  Rig r(4);
  r.start();
  r.settle();
  for (int i = 0; i < 10; ++i) {
    write(r.p("f" + std::to_string(i)), i % 2 ? "b" : "a");
    r.source.push(T::kCloseWrite, r.p("f" + std::to_string(i)));
  }
  r.settle();
  CHECK(r.m->stats().queue_overflows == 1);
  CHECK(r.m->stats().rescans == 1);
  for (int i = 0; i < 10; ++i) CHECK(r.hex("f" + std::to_string(i)) == (i % 2 ? kB : kA));
}

TEST_CASE("kernel overflow -> rescan finds changes and deletions made without events") {
  Rig r;
  write(r.p("stay"), "a");
  write(r.p("goes/f"), "a");
  r.start();
  r.settle();
  fs::remove_all(r.p("goes"));
  write(r.p("stay"), "b");
  write(r.p("new/n"), "a");
  r.source.push(T::kOverflow, "");
  r.settle();
  CHECK(r.m->stats().rescans == 1);
  CHECK(r.hex("stay") == kB);
  CHECK(r.hex("new/n") == kA);
  CHECK_FALSE(r.has("goes"));
  CHECK_FALSE(r.has("goes/f"));
}

TEST_CASE("a rename over an existing name replaces it") {
  Rig r;
  write(r.p("model"), "a");
  r.start();
  r.settle();
  write(r.p(".part"), "b");
  r.source.push(T::kCloseWrite, r.p(".part"));
  r.settle();
  fs::rename(r.p(".part"), r.p("model"));
  r.source.push(T::kMovedFrom, r.p(".part"), false, 5);
  r.source.push(T::kMovedTo, r.p("model"), false, 5);
  r.settle();
  CHECK_FALSE(r.has(".part"));
  CHECK(r.hex("model") == kB);
}

TEST_CASE("index consumer queue bound -> snapshot instead of loss") {
  Index idx;
  auto* sink = idx.add_sink(2);
  auto b0 = idx.take(sink, std::chrono::milliseconds(0), true);
  CHECK(b0.snapshot);
  idx.put(Record{"/a", Kind::kFile, kA, 1, 0});
  idx.put(Record{"/a", Kind::kFile, kA, 1, 0});  // identical: no op
  auto b1 = idx.take(sink, std::chrono::milliseconds(0), false);
  CHECK_FALSE(b1.snapshot);
  CHECK(b1.ops.size() == 1);
  for (int i = 0; i < 3; ++i) idx.put(Record{"/f" + std::to_string(i), Kind::kFile, kA, 1, 0});
  auto b2 = idx.take(sink, std::chrono::milliseconds(0), false);
  CHECK(b2.snapshot);
  CHECK(b2.records.size() == 4);
  idx.del("/");
  auto b3 = idx.take(sink, std::chrono::milliseconds(0), false);
  REQUIRE(b3.ops.size() == 1);
  CHECK(b3.ops[0].del);
  CHECK(b3.ops[0].removed.size() == 4);
  idx.detach(sink);  // consumer gone: nothing queues, the next take is a snapshot
  idx.put(Record{"/z", Kind::kFile, kA, 1, 0});
  auto b4 = idx.take(sink, std::chrono::milliseconds(0), false);
  CHECK(b4.snapshot);
  CHECK(b4.records.size() == 1);
}

TEST_CASE("renamed to an ignored name is gone; renamed from an ignored name is new") {
  Rig r;
  r.opt.ignore = IgnoreRules::parse("*.bak\n");
  write(r.p("m"), "a");
  write(r.p("old.bak"), "b");
  r.start();
  r.settle();
  CHECK(r.has("m"));
  fs::rename(r.p("m"), r.p("m.bak"));
  r.source.push(T::kMovedFrom, r.p("m"), false, 21);
  r.source.push(T::kMovedTo, r.p("m.bak"), false, 21);
  fs::rename(r.p("old.bak"), r.p("restored"));
  r.source.push(T::kMovedFrom, r.p("old.bak"), false, 22);
  r.source.push(T::kMovedTo, r.p("restored"), false, 22);
  r.settle();
  CHECK_FALSE(r.has("m"));
  CHECK_FALSE(r.has("m.bak"));
  CHECK(r.hex("restored") == kB);
}

TEST_CASE("a file deleted while its hash is pending is not published") {
  Rig r;
  r.start();
  r.settle();
  write(r.p("brief"), "a");
  r.source.push(T::kCloseWrite, r.p("brief"));
  r.m->pump_events(r.now);
  fs::remove(r.p("brief"));
  r.source.push(T::kDelete, r.p("brief"));
  r.settle();
  CHECK_FALSE(r.has("brief"));
  CHECK(r.index.get(r.dir.str())->hex == dir_hash({}));
}

TEST_CASE("a file rewritten faster than it hashes holds at most one job") {
  Rig r;
  r.start();
  r.settle();
  write(r.p("hot"), "a");
  for (int i = 0; i < 20; ++i) {
    r.source.push(T::kCloseWrite, r.p("hot"));
    r.m->pump_events(r.now);
    r.now += std::chrono::milliseconds(10);
    r.m->tick(r.now);  // past the settle window: dispatches (or marks a rehash)
    CHECK(r.pool.outstanding() <= 1);
  }
  write(r.p("hot"), "b");
  r.source.push(T::kCloseWrite, r.p("hot"));
  r.settle();
  CHECK(r.hex("hot") == kB);
  CHECK(r.m->stats().hashed <= 2);
}

TEST_CASE("a new hard link is hashed without a close event") {
  Rig r;
  write(r.p("orig"), "b");
  r.start();
  r.settle();
  fs::create_hard_link(r.p("orig"), r.p("link"));
  r.source.push(T::kCreate, r.p("link"));
  r.settle();
  CHECK(r.hex("link") == kB);
}
