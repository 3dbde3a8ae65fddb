#pragma once
// One logging facility for every program: readable lines on a terminal, JSON
// lines (ts, level, component, msg, fields) when configured. Never log secrets.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ef::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

using Fields = std::vector<std::pair<std::string, std::string>>;

/// Process-wide settings; call once at start. Defaults: text, info, stderr.
/// EF_LOG_FORMAT=json and EF_LOG_LEVEL=debug|info|warn|error override them.
void configure(std::string_view component, Format format = Format::kText, Level min_level = Level::kInfo);
void configure_from_env(std::string_view component);

void write(Level level, std::string_view message, const Fields& fields = {});
inline void debug(std::string_view m, const Fields& f = {}) { write(Level::kDebug, m, f); }
inline void info(std::string_view m, const Fields& f = {}) { write(Level::kInfo, m, f); }
inline void warn(std::string_view m, const Fields& f = {}) { write(Level::kWarn, m, f); }
inline void error(std::string_view m, const Fields& f = {}) { write(Level::kError, m, f); }

/// Renders one record without writing it (used by tests and by write()).
std::string format_record(Format format, Level level, std::string_view component, std::string_view message,
                          const Fields& fields, long long unix_ms);

}  // namespace ef::log
