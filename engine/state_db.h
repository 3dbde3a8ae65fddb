#pragma once
// enclaved's state in SQLite (STATE_DIR/state.db): the enclaves table and the
// event log. Every write is one transaction, so a crash leaves the last
// complete state. Not thread-safe: the engine serialises access.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/record.h"

struct sqlite3;

namespace ef::engine {

struct Event {
  std::int64_t seq = 0;
  std::int64_t ts_ms = 0;
  std::string enclave;
  std::string type;  ///< created, started, exited, restarted, health, stopped, removed, error
  nlohmann::json detail = nlohmann::json::object();
};
nlohmann::json to_json(const Event& e);

class StateDb {
 public:
  /// Opens or creates the database and its schema (WAL journal).
  explicit StateDb(const std::filesystem::path& file);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  void put(const EnclaveRecord& r);  ///< insert or replace by name
  void remove(const std::string& name);
  std::optional<EnclaveRecord> get(const std::string& name);
  std::vector<EnclaveRecord> all();

  /// Appends an event; returns it with its sequence number.
  Event append_event(Event e);
  /// Events with seq > `after`, oldest first, at most `limit`.
  std::vector<Event> events_after(std::int64_t after, std::size_t limit = 1000);

 private:
  void exec(const char* sql);
  EnclaveRecord row_to_record(void* stmt);
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
};

}  // namespace ef::engine
