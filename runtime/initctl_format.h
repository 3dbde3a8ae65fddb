#pragma once
// initctl's human output (docker-like tables) from control API responses.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ef::init {

/// "850ms", "12s", "3m04s", "2h05m", "3d04h".
std::string format_duration(std::int64_t ms);
/// "512.0 MiB" style.
std::string format_bytes(std::uint64_t bytes);
/// The `list` table: NAME STATE PID UPTIME RESTARTS LAST EXIT.
std::string format_list(const nlohmann::json& response);
/// `status NAME`: one "key: value" line per field.
std::string format_status(const nlohmann::json& service);
/// `status` without a name: init's mode, service file and its load error.
std::string format_init_status(const nlohmann::json& response);
/// `system`: uptime, load, memory, then per-service restarts and last exits.
std::string format_system(const nlohmann::json& response);

}  // namespace ef::init
