#pragma once
// Times as the verifier takes and prints them: RFC 3339 and short durations.

#include <cstdint>
#include <string>
#include <string_view>

namespace ef::attest {

/// Milliseconds since the Unix epoch from RFC 3339, e.g. "2022-10-13T08:58:02Z",
/// "2022-10-13T08:58:02.136+02:00" (lower-case t/z and a space separator accepted).
/// Throws ef::Error naming the text on anything else.
std::int64_t parse_rfc3339(std::string_view text);

/// "2022-10-13T08:58:02.136Z" (milliseconds always shown).
std::string format_rfc3339(std::int64_t ms);

/// A duration in milliseconds: one or more NUMBER UNIT parts, units ms s m h d,
/// e.g. "90s", "5m", "1h30m", "2d"; a bare number means seconds. Throws ef::Error.
std::int64_t parse_duration(std::string_view text);

/// The system clock in ms since the Unix epoch.
std::int64_t now_ms();

}  // namespace ef::attest
