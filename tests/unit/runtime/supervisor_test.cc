// The supervisor with real processes (busybox sh) on a real event loop.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "base/file.h"
#include "runtime/config.h"
#include "runtime/supervisor.h"
#include "test_util.h"

using namespace ef::init;

namespace {

InitConfig config(const std::string& services, const test::TempDir& dir) {
  return parse_config("log_dir: " + dir.path.string() + "/log\nservices:\n" + services, "test.yaml");
}

std::string read(const std::string& path) {
  try {
    return ef::read_text_file(path);
  } catch (const std::exception&) {
    return "";
  }
}

struct Fixture {
  test::TempDir dir;
  EventLoop loop;
  std::vector<std::string> critical;
  Supervisor sup{loop, -1, {[this](const std::string& why) { critical.push_back(why); }}};

  bool wait(const std::function<bool()>& cond, int ms = 5000) { return test::run_until(loop, &sup, cond, ms); }
  State state(const std::string& n) { return sup.status(n).state; }
  bool has_c() { return sup.has("c"); }
};

}  // namespace

TEST_CASE("supervisor: dependency order with readiness, and requires failing dependents") {
  Fixture f;
  std::string trace = f.dir / "trace";
  f.sup.configure(config(
      "  c: {exec: /bin/sh, args: [-c, 'echo c >> " + trace + "; exec sleep 30'], after: [b]}\n"
      "  b: {exec: /bin/sh, args: [-c, 'sleep 0.2; echo b >> " + trace + "; touch " + (f.dir / "b.ready") +
          "; exec sleep 30'], ready: {file: " + (f.dir / "b.ready") + "}, requires: [a]}\n"
      "  a: {exec: /bin/sh, args: [-c, 'echo a >> " + trace + "; exec sleep 30']}\n"
      "  broken: {exec: /nonexistent/x}\n"
      "  needs_broken: {exec: /bin/sh, args: [-c, 'exec sleep 30'], requires: [broken]}\n",
      f.dir));
  f.sup.start_all();
  REQUIRE(f.wait([&] { return read(trace).size() == 6; }));
  CHECK(read(trace) == "a\nb\nc\n");
  CHECK(f.state("broken") == State::kFailed);
  CHECK(f.sup.status("broken").error == "cannot start: exec /nonexistent/x: No such file or directory");
  CHECK(f.state("needs_broken") == State::kFailed);
  CHECK(f.sup.status("needs_broken").error == "not started: required service 'broken' is failed");
  bool done = false;
  f.sup.shutdown([&] { done = true; });
  REQUIRE(f.wait([&] { return done; }));
}

TEST_CASE("supervisor: a crash loop backs off and stops at its restart limit") {
  Fixture f;
  std::string starts = f.dir / "starts";
  f.sup.configure(config("  crash:\n    exec: /bin/sh\n    args: [-c, 'echo x >> " + starts +
                             "; exit 3']\n    restart: always\n    critical: true\n"
                             "    backoff: {initial: 40ms, factor: 2, maximum: 160ms}\n"
                             "    restart_limit: {count: 4, window: 1m}\n",
                         f.dir));
  Millis t0 = monotonic_ms();
  f.sup.start_all();
  REQUIRE(f.wait([&] { return f.state("crash") == State::kFailed; }));
  Millis took = monotonic_ms() - t0;
  // 1 start + 4 restarts; delays 40 + 80 + 160 + 160 = 440 ms at least.
  CHECK(read(starts) == "x\nx\nx\nx\nx\n");
  CHECK(took >= 440);
  ServiceStatus st = f.sup.status("crash");
  CHECK(st.restarts == 4);
  CHECK(st.exit_code == 3);
  CHECK(st.last_exit == "exited with status 3");
  CHECK(st.error == "restarted 4 times within 60000ms; giving up");
  REQUIRE(f.critical.size() == 1);
  CHECK(f.critical[0] == "critical service crash failed");
}

TEST_CASE("supervisor: stop escalates to SIGKILL after the stop timeout; shutdown goes in reverse order") {
  Fixture f;
  std::string trace = f.dir / "trace";
  f.sup.configure(config(
      "  base: {exec: /bin/sh, args: [-c, 'trap \"echo base-stop >> " + trace + "; exit 0\" TERM; while :; do sleep 0.05; done']}\n"
      "  stubborn:\n    exec: /bin/sh\n    args: [-c, 'trap \"echo ignored >> " + trace +
          "\" TERM; while :; do sleep 0.05; done']\n    after: [base]\n    stop_timeout: 300ms\n",
      f.dir));
  f.sup.start_all();
  REQUIRE(f.wait([&] { return f.state("stubborn") == State::kRunning; }));
  f.wait([] { return false; }, 200);  // let the shells install their traps
  Millis t0 = monotonic_ms();
  bool done = false;
  f.sup.shutdown([&] { done = true; });
  REQUIRE(f.wait([&] { return done; }));
  Millis took = monotonic_ms() - t0;
  CHECK(took >= 300);
  CHECK(took < 3000);
  CHECK(read(trace) == "ignored\nbase-stop\n");
  CHECK(f.sup.status("stubborn").last_exit == "killed by SIGKILL");
  CHECK(f.sup.status("base").last_exit == "exited with status 0");
}

TEST_CASE("supervisor: control operations and reload by difference") {
  Fixture f;
  f.sup.configure(config("  a: {exec: /bin/sleep, args: ['30']}\n  b: {exec: /bin/sleep, args: ['30']}\n"
                         "  off: {exec: /bin/sleep, args: ['30'], enabled: false}\n",
                         f.dir));
  f.sup.start_all();
  REQUIRE(f.wait([&] { return f.state("a") == State::kRunning && f.state("b") == State::kRunning; }));
  CHECK(f.state("off") == State::kStopped);
  CHECK_THROWS_WITH(f.sup.start("off"), "service 'off' is disabled");
  CHECK_THROWS_WITH(f.sup.start("nope"), "no service named 'nope'");
  f.sup.enable("off");
  REQUIRE(f.wait([&] { return f.state("off") == State::kRunning; }));
  f.sup.disable("off");
  REQUIRE(f.wait([&] { return f.state("off") == State::kStopped; }));

  pid_t a_pid = f.sup.status("a").pid;
  f.sup.restart("a");
  REQUIRE(f.wait([&] { return f.state("a") == State::kRunning && f.sup.status("a").pid != a_pid; }));
  f.sup.stop("a");
  REQUIRE(f.wait([&] { return f.state("a") == State::kStopped; }));
  f.sup.start("a");
  REQUIRE(f.wait([&] { return f.state("a") == State::kRunning; }));

  pid_t b_pid = f.sup.status("b").pid;
  a_pid = f.sup.status("a").pid;
  std::string changes = f.sup.configure(
      config("  a: {exec: /bin/sleep, args: ['30']}\n  b: {exec: /bin/sleep, args: ['31']}\n"
             "  c: {exec: /bin/sleep, args: ['30']}\n",
             f.dir));
  CHECK(changes == "added c; removed off; changed b");
  REQUIRE(f.wait([&] {
    return f.has_c() && f.state("c") == State::kRunning && f.state("b") == State::kRunning &&
           f.sup.status("b").pid != b_pid;
  }));
  CHECK(f.sup.status("a").pid == a_pid);  // unchanged: untouched
  CHECK_FALSE(f.sup.has("off"));
  bool done = false;
  f.sup.shutdown([&] { done = true; });
  REQUIRE(f.wait([&] { return done; }));
}

TEST_CASE("supervisor: output reaches the log file and followers") {
  Fixture f;
  f.sup.configure(config("  talk: {exec: /bin/sh, args: [-c, 'echo one; echo two >&2'], restart: no}\n", f.dir));
  f.sup.start_all();
  REQUIRE(f.wait([&] { return f.state("talk") == State::kExited && f.sup.logs("talk")->tail(10).size() == 2; }));
  CHECK(f.sup.logs("talk")->tail(10) == std::vector<std::string>{"one", "two"});
  CHECK(read(f.dir / "log/talk.log") == "one\ntwo\n");
}

TEST_CASE("supervisor: a service that never gets ready is killed and counts as failed") {
  Fixture f;
  f.sup.configure(config("  slow:\n    exec: /bin/sleep\n    args: ['30']\n    restart: no\n"
                         "    ready: {file: " + (f.dir / "never") + ", timeout: 200ms}\n"
                         "  after_slow: {exec: /bin/sleep, args: ['30'], requires: [slow]}\n",
                         f.dir));
  Millis t0 = monotonic_ms();
  f.sup.start_all();
  CHECK(f.state("slow") == State::kStarting);
  REQUIRE(f.wait([&] { return f.state("slow") == State::kFailed; }));
  CHECK(monotonic_ms() - t0 >= 200);
  CHECK(f.sup.status("slow").error == "not ready within 200ms");
  CHECK(f.sup.status("slow").last_exit == "killed by SIGKILL");
  CHECK(f.state("after_slow") == State::kFailed);
}
