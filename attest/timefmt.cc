#include "attest/timefmt.h"

#include <chrono>
#include <cstdio>

#include "base/error.h"

namespace ef::attest {
namespace {

class Scanner {
 public:
  Scanner(std::string_view text, std::string_view what) : s_(text), what_(what) {}

  [[noreturn]] void fail(std::string_view expected) const {
    throw Error(std::string(what_) + " '" + std::string(s_) + "': expected " + std::string(expected) + " at position " +
                std::to_string(pos_));
  }
  bool done() const { return pos_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  std::int64_t digits(std::size_t n) {
    std::int64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (done() || s_[pos_] < '0' || s_[pos_] > '9') fail(std::to_string(n) + " digits");
      v = v * 10 + (s_[pos_++] - '0');
    }
    return v;
  }
  void expect(std::string_view chars) {
    if (done() || chars.find(s_[pos_]) == std::string_view::npos) fail("'" + std::string(chars.substr(0, 1)) + "'");
    ++pos_;
  }
  bool accept(std::string_view chars) {
    if (!done() && chars.find(s_[pos_]) != std::string_view::npos) return ++pos_, true;
    return false;
  }

 private:
  std::string_view s_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int days_in_month(std::int64_t y, std::int64_t m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::int64_t parse_rfc3339(std::string_view text) {
  Scanner sc(text, "RFC 3339 time");
  const std::int64_t year = sc.digits(4);
  sc.expect("-");
  const std::int64_t month = sc.digits(2);
  sc.expect("-");
  const std::int64_t day = sc.digits(2);
  sc.expect("Tt ");
  const std::int64_t hour = sc.digits(2);
  sc.expect(":");
  const std::int64_t minute = sc.digits(2);
  sc.expect(":");
  const std::int64_t second = sc.digits(2);
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
      second > 60)
    throw Error("RFC 3339 time '" + std::string(text) + "': field out of range");
  std::int64_t ms = 0;
  if (sc.accept(".")) {
    int n = 0;
    while (sc.peek() >= '0' && sc.peek() <= '9') {
      const std::int64_t d = sc.digits(1);
      if (n < 3) ms = ms * 10 + d;
      ++n;
    }
    if (n == 0) sc.fail("fraction digits");
    for (; n < 3; ++n) ms *= 10;
  }
  std::int64_t offset_min = 0;
  if (!sc.accept("Zz")) {
    const char sign = sc.peek();
    sc.expect("+-");
    const std::int64_t oh = sc.digits(2);
    sc.expect(":");
    const std::int64_t om = sc.digits(2);
    if (oh > 23 || om > 59) throw Error("RFC 3339 time '" + std::string(text) + "': offset out of range");
    offset_min = (sign == '-' ? -1 : 1) * (oh * 60 + om);
  }
  if (!sc.done()) sc.fail("end of text");
  const std::int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                            std::min<std::int64_t>(second, 59) - offset_min * 60;
  return secs * 1000 + ms;
}

std::string format_rfc3339(std::int64_t ms) {
  std::int64_t secs = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) frac += 1000, secs -= 1;
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) rem += 86400, days -= 1;
  // civil_from_days (Howard Hinnant).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60), static_cast<long long>(frac));
  return buf;
}

std::int64_t parse_duration(std::string_view text) {
  if (text.empty()) throw Error("duration: empty");
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > 1'000'000'000'000) throw Error("duration '" + std::string(text) + "': too large");
      n = n * 10 + (text[i++] - '0');
    }
    if (i == start) throw Error("duration '" + std::string(text) + "': expected a number at position " + std::to_string(i));
    std::size_t u = i;
    while (u < text.size() && (text[u] < '0' || text[u] > '9')) ++u;
    const std::string_view unit = text.substr(i, u - i);
    i = u;
    std::int64_t scale;
    if (unit == "ms") scale = 1;
    else if (unit == "s" || (unit.empty() && start == 0 && i == text.size())) scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = 86'400'000;
    else throw Error("duration '" + std::string(text) + "': unknown unit '" + std::string(unit) + "' (use ms, s, m, h, d)");
    total += n * scale;
  }
  return total;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ef::attest
