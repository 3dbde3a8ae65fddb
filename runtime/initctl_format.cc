#include "runtime/initctl_format.h"

#include <cstdio>
#include <vector>

namespace ef::init {
namespace {

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string str(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  const auto& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string last_exit(const nlohmann::json& s) {
  std::string e = str(s, "last_exit");
  return e.empty() ? "-" : e;
}

}  // namespace

std::string format_duration(std::int64_t ms) {
  char buf[32];
  if (ms < 1000) std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  else if (ms < 60'000) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ms / 1000));
  else if (ms < 3'600'000)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  else if (ms < 86'400'000)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(ms / 86'400'000),
                  static_cast<long long>(ms / 3'600'000 % 24));
  return buf;
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string format_list(const nlohmann::json& response) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT"}};
  for (const auto& s : response.value("services", nlohmann::json::array())) {
    std::int64_t pid = s.value("pid", 0);
    std::int64_t up = s.value("uptime_ms", 0);
    rows.push_back({str(s, "name"), str(s, "state"), pid > 0 ? std::to_string(pid) : "-",
                    pid > 0 ? format_duration(up) : "-", str(s, "restarts"), last_exit(s)});
  }
  return table(rows);
}

std::string format_status(const nlohmann::json& s) {
  std::int64_t pid = s.value("pid", 0);
  std::vector<std::vector<std::string>> rows = {
      {"Name:", str(s, "name")},
      {"State:", str(s, "state")},
      {"Enabled:", str(s, "enabled")},
      {"Exec:", str(s, "exec")},
      {"PID:", pid > 0 ? std::to_string(pid) : "-"},
      {"Uptime:", pid > 0 ? format_duration(s.value("uptime_ms", 0)) : "-"},
      {"Restart:", str(s, "restart")},
      {"Restarts:", str(s, "restarts")},
      {"Last exit:", last_exit(s)},
  };
  if (!str(s, "error").empty()) rows.push_back({"Error:", str(s, "error")});
  return table(rows);
}

std::string format_init_status(const nlohmann::json& r) {
  std::string error = r.value("config_error", std::string());
  return "mode: " + str(r, "mode") + "\nconfig: " + str(r, "config") + "\nconfig_error: " +
         (error.empty() ? "none" : error) + "\nservices: " + str(r, "services") + "\n";
}

std::string format_system(const nlohmann::json& r) {
  std::string out;
  char buf[160];
  auto load = r.value("load", nlohmann::json::array());
  std::snprintf(buf, sizeof buf, "Uptime:    %s\nLoad:      %.2f %.2f %.2f\n",
                format_duration(r.value("uptime_s", std::int64_t{0}) * 1000).c_str(),
                load.size() > 0 ? load[0].get<double>() : 0.0, load.size() > 1 ? load[1].get<double>() : 0.0,
                load.size() > 2 ? load[2].get<double>() : 0.0);
  out += buf;
  auto mem = r.value("memory", nlohmann::json::object());
  std::uint64_t total = mem.value("total", std::uint64_t{0}), free_ = mem.value("free", std::uint64_t{0});
  out += "Memory:    " + format_bytes(total - std::min(total, free_)) + " used of " + format_bytes(total) + "\n";
  out += "Processes: " + str(r, "processes") + "\n";
  out += "Mode:      " + str(r, "mode") + "\n";
  if (!r.value("config_error", std::string()).empty()) out += "Config:    error: " + str(r, "config_error") + "\n";
  out += "\n";
  std::vector<std::vector<std::string>> rows = {{"SERVICE", "STATE", "RESTARTS", "LAST EXIT"}};
  for (const auto& s : r.value("services", nlohmann::json::array()))
    rows.push_back({str(s, "name"), str(s, "state"), str(s, "restarts"), last_exit(s)});
  return out + table(rows);
}

}  // namespace ef::init
