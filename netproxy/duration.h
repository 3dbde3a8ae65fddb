#pragma once
// Durations in configuration files and flags.

#include <chrono>
#include <string>

namespace ef::netproxy {

using Millis = std::chrono::milliseconds;

/// "250ms", "10s", "5m", "1h" or a bare number of seconds; throws Error otherwise.
Millis parse_duration(const std::string& text);

}  // namespace ef::netproxy
