#include "runtime/credentials.h"

#include <charconv>
#include <optional>

#include "base/error.h"
#include "base/file.h"

namespace ef::init {
namespace {

std::optional<std::uint32_t> number(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::vector<std::string>> read_db(const std::string& path) {
  try {
    return parse_colon_file(read_text_file(path));
  } catch (const SysError& e) {
    if (e.code() == ENOENT) return {};
    throw;
  }
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::string>> parse_colon_file(std::string_view text) {
  std::vector<std::vector<std::string>> out;
  for (const std::string& line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() >= 3 && number(fields[2])) out.push_back(std::move(fields));
  }
  return out;
}

Credentials resolve_credentials(std::string_view user, std::string_view group, const std::string& etc) {
  Credentials c;
  std::string user_name;
  bool found_user = false;
  for (const auto& f : read_db(etc + "/passwd")) {
    if (f.size() < 7) continue;
    if (f[0] == user || (number(user) && number(f[2]) == number(user))) {
      c.uid = *number(f[2]);
      c.gid = number(f[3]).value_or(c.uid);
      c.home = f[5];
      user_name = f[0];
      found_user = true;
      break;
    }
  }
  if (!found_user) {
    auto n = number(user);
    if (!n) throw Error("unknown user '" + std::string(user) + "' (not in " + etc + "/passwd)");
    c.uid = c.gid = *n;
    c.home = "/";
  }
  bool found_group = group.empty();
  for (const auto& f : read_db(etc + "/group")) {
    if (f.size() < 4) continue;
    gid_t gid = *number(f[2]);
    if (!group.empty() && (f[0] == group || number(group) == gid)) {
      c.gid = gid;
      found_group = true;
    }
    if (!user_name.empty())
      for (const std::string& member : split(f[3], ','))
        if (member == user_name) c.groups.push_back(gid);
  }
  if (!found_group) {
    auto n = number(group);
    if (!n) throw Error("unknown group '" + std::string(group) + "' (not in " + etc + "/group)");
    c.gid = *n;
  }
  return c;
}

}  // namespace ef::init
