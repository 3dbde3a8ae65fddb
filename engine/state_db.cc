#include "engine/state_db.h"

#include <sqlite3.h>

#include "base/error.h"

namespace ef::engine {
namespace {

/// A prepared statement; finalised on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::filesystem::path& file) : db_(db), file_(file) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  void text(int i, const std::string& v) { check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT)); }
  void integer(int i, std::int64_t v) { check(sqlite3_bind_int64(s_, i, v)); }
  /// true while a row is available.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("step");
  }
  std::string col_text(int i) {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(s_, i))) : "";
  }
  std::int64_t col_int(int i) { return sqlite3_column_int64(s_, i); }
  sqlite3_stmt* get() { return s_; }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail("bind");
  }
  [[noreturn]] void fail(const char* what) {
    throw Error("state database " + file_.string() + ": " + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  const std::filesystem::path& file_;
};

nlohmann::json parse_column(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error("state database: column " + what + " is not JSON: " + e.what());
  }
}

}  // namespace

nlohmann::json to_json(const Event& e) {
  return {{"seq", e.seq}, {"ts_ms", e.ts_ms}, {"enclave", e.enclave}, {"type", e.type}, {"detail", e.detail}};
}

StateDb::StateDb(const std::filesystem::path& file) : file_(file) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error("open state database " + file.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec(
      "CREATE TABLE IF NOT EXISTS enclaves ("
      " name TEXT PRIMARY KEY, id TEXT NOT NULL, image TEXT NOT NULL, image_sha256 TEXT NOT NULL,"
      " pcrs TEXT NOT NULL, pcr_source TEXT NOT NULL, cpus INTEGER NOT NULL, memory_mib INTEGER NOT NULL,"
      " ports TEXT NOT NULL, restart TEXT NOT NULL, spec TEXT NOT NULL, handle TEXT NOT NULL,"
      " status TEXT NOT NULL, health TEXT NOT NULL, restart_count INTEGER NOT NULL, user_stopped INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,"
      " proxy TEXT NOT NULL, last_error TEXT NOT NULL)");
  exec(
      "CREATE TABLE IF NOT EXISTS events ("
      " seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, enclave TEXT NOT NULL,"
      " type TEXT NOT NULL, detail TEXT NOT NULL)");
}

StateDb::~StateDb() { sqlite3_close(db_); }

void StateDb::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("state database " + file_.string() + ": " + msg);
  }
}

void StateDb::put(const EnclaveRecord& r) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO enclaves VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
         file_);
  nlohmann::json full = to_json(r);
  s.text(1, r.spec.name);
  s.text(2, r.id);
  s.text(3, r.spec.image);
  s.text(4, r.image_sha256);
  nlohmann::json pcrs = nlohmann::json::object();
  for (const auto& [i, h] : r.pcrs) pcrs[std::to_string(i)] = h;
  s.text(5, pcrs.dump());
  s.text(6, r.pcr_source);
  s.integer(7, r.spec.cpus);
  s.integer(8, static_cast<std::int64_t>(r.spec.memory_mib));
  s.text(9, full["spec"]["ports"].dump());
  s.text(10, r.spec.restart.to_string());
  s.text(11, full["spec"].dump());
  s.text(12, full["handle"].dump());
  s.text(13, to_string(r.status));
  s.text(14, to_string(r.health));
  s.integer(15, r.restart_count);
  s.integer(16, r.user_stopped ? 1 : 0);
  s.integer(17, r.created_ms);
  s.integer(18, r.started_ms);
  s.integer(19, r.finished_ms);
  s.text(20, full["proxy"].dump());
  s.text(21, r.last_error);
  s.step();
}

void StateDb::remove(const std::string& name) {
  Stmt s(db_, "DELETE FROM enclaves WHERE name = ?1", file_);
  s.text(1, name);
  s.step();
}

EnclaveRecord StateDb::row_to_record(void* p) {
  auto* stmt = static_cast<sqlite3_stmt*>(p);
  auto col = [&](int i) {
    const unsigned char* t = sqlite3_column_text(stmt, i);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  EnclaveRecord r;
  r.spec = with_context("state database: enclave " + col(0), [&] { return spec_from_json(parse_column(col(10), "spec")); });
  r.id = col(1);
  r.image_sha256 = col(3);
  const nlohmann::json pcrs = parse_column(col(4), "pcrs");
  for (const auto& [k, v] : pcrs.items()) {
    if (!v.is_string() || k.empty() || k.size() > 2 || k.find_first_not_of("0123456789") != std::string::npos)
      throw Error("state database: enclave " + col(0) + ": bad pcrs entry " + k);
    r.pcrs[static_cast<unsigned>(std::stoul(k))] = v.get<std::string>();
  }
  r.pcr_source = col(5);
  r.handle = handle_from_json(parse_column(col(11), "handle"));
  r.status = status_from_string(col(12));
  r.health = health_from_string(col(13));
  r.restart_count = static_cast<unsigned>(sqlite3_column_int64(stmt, 14));
  r.user_stopped = sqlite3_column_int64(stmt, 15) != 0;
  r.created_ms = sqlite3_column_int64(stmt, 16);
  r.started_ms = sqlite3_column_int64(stmt, 17);
  r.finished_ms = sqlite3_column_int64(stmt, 18);
  auto proxy = parse_column(col(19), "proxy");
  r.proxy.pid = proxy.value("pid", 0);
  r.proxy.start_time = proxy.value("start_time", std::uint64_t{0});
  r.proxy.config = proxy.value("config", "");
  r.last_error = col(20);
  return r;
}

std::optional<EnclaveRecord> StateDb::get(const std::string& name) {
  Stmt s(db_, "SELECT * FROM enclaves WHERE name = ?1", file_);
  s.text(1, name);
  if (!s.step()) return std::nullopt;
  return row_to_record(s.get());
}

std::vector<EnclaveRecord> StateDb::all() {
  Stmt s(db_, "SELECT * FROM enclaves ORDER BY created_ms, name", file_);
  std::vector<EnclaveRecord> out;
  while (s.step()) out.push_back(row_to_record(s.get()));
  return out;
}

Event StateDb::append_event(Event e) {
  Stmt s(db_, "INSERT INTO events (ts_ms, enclave, type, detail) VALUES (?1, ?2, ?3, ?4)", file_);
  s.integer(1, e.ts_ms);
  s.text(2, e.enclave);
  s.text(3, e.type);
  s.text(4, e.detail.dump());
  s.step();
  e.seq = sqlite3_last_insert_rowid(db_);
  return e;
}

std::vector<Event> StateDb::events_after(std::int64_t after, std::size_t limit) {
  Stmt s(db_, "SELECT seq, ts_ms, enclave, type, detail FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2", file_);
  s.integer(1, after);
  s.integer(2, static_cast<std::int64_t>(limit));
  std::vector<Event> out;
  while (s.step()) {
    Event e;
    e.seq = s.col_int(0);
    e.ts_ms = s.col_int(1);
    e.enclave = s.col_text(2);
    e.type = s.col_text(3);
    e.detail = parse_column(s.col_text(4), "detail");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace ef::engine
