#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "engine/state_db.h"
#include "helpers.h"

using namespace ef::engine;

TEST_CASE("state database keeps records and events across reopen") {
  auto dir = test::temp_dir("db");
  EnclaveRecord r;
  r.spec = test::spec_named("web");
  r.spec.ports = {PortMapping::parse("8080:80")};
  r.spec.restart = RestartPolicy::parse("always");
  r.id = "0011223344556677";
  r.image_sha256 = std::string(64, 'a');
  r.pcrs = {{0, std::string(96, 'b')}, {1, std::string(96, 'c')}};
  r.handle = {"fake", "fake-1", 16, 1234, R"({"dir":"/x"})"};
  r.status = Status::running;
  r.health = Health::healthy;
  r.restart_count = 2;
  r.created_ms = 5;
  r.proxy = {99, 12345, "/x/pf-proxy.yaml"};
  {
    StateDb db(dir / "state.db");
    db.put(r);
    auto e = db.append_event({0, 1, "web", "started", {{"k", "v"}}});
    CHECK(e.seq == 1);
    db.append_event({0, 2, "web", "exited", {}});
  }
  StateDb db(dir / "state.db");
  auto back = db.get("web");
  REQUIRE(back);
  CHECK(to_json(*back) == to_json(r));
  CHECK(db.all().size() == 1);
  auto ev = db.events_after(0);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].type == "started");
  CHECK(ev[0].detail["k"] == "v");
  CHECK(db.events_after(1).size() == 1);
  db.remove("web");
  CHECK_FALSE(db.get("web"));

  // Checked with sqlite3 itself: the columns the issue lists are plain columns.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open((dir / "state.db").c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT name, image_sha256, restart, status FROM enclaves", -1, &st, nullptr) == SQLITE_OK);
  sqlite3_finalize(st);
  sqlite3_close(raw);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a corrupt record is a clear error, not a crash") {
  auto dir = test::temp_dir("dbbad");
  {
    StateDb db(dir / "state.db");
    EnclaveRecord r;
    r.spec = test::spec_named("web");
    db.put(r);
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open((dir / "state.db").c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "UPDATE enclaves SET spec = '{not json'", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  StateDb db(dir / "state.db");
  CHECK_THROWS_WITH(db.get("web"), Catch::Contains("column spec is not JSON"));
  std::filesystem::remove_all(dir);
}
