#include "base/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace ef::log {
namespace {

struct Settings {
  std::string component = "ef";
  Format format = Format::kText;
  Level min_level = Level::kInfo;
};

Settings& settings() {
  static Settings s;
  return s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}

std::string iso_time(long long unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
  return buf;
}

}  // namespace

void configure(std::string_view component, Format format, Level min_level) {
  settings() = Settings{std::string(component), format, min_level};
}

void configure_from_env(std::string_view component) {
  Settings s{std::string(component), Format::kText, Level::kInfo};
  if (const char* f = std::getenv("EF_LOG_FORMAT"); f && std::string_view(f) == "json") s.format = Format::kJson;
  if (const char* l = std::getenv("EF_LOG_LEVEL")) {
    std::string_view v(l);
    if (v == "debug") s.min_level = Level::kDebug;
    else if (v == "warn") s.min_level = Level::kWarn;
    else if (v == "error") s.min_level = Level::kError;
  }
  settings() = s;
}

std::string format_record(Format format, Level level, std::string_view component, std::string_view message,
                          const Fields& fields, long long unix_ms) {
  if (format == Format::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = iso_time(unix_ms);
    j["level"] = level_name(level);
    j["component"] = component;
    j["msg"] = message;
    for (const auto& [k, v] : fields) j[k] = v;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string line = std::string(component) + ": ";
  if (level != Level::kInfo) line += std::string(level_name(level)) + ": ";
  line += message;
  for (const auto& [k, v] : fields) line += " " + k + "=" + v;
  return line + "\n";
}

void write(Level level, std::string_view message, const Fields& fields) {
  const Settings& s = settings();
  if (level < s.min_level) return;
  long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string rec = format_record(s.format, level, s.component, message, fields, now);
  static std::mutex mu;
  std::lock_guard lock(mu);
  (void)!::write(2, rec.data(), rec.size());
}

}  // namespace ef::log
