#pragma once
// User and group names resolved from /etc/passwd and /etc/group directly: init
// is linked statically and must not depend on NSS modules.

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace ef::init {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::string home;
};

/// Resolves `user` (name or number) and `group` (name, number, or empty for the
/// user's primary group) against `etc`/passwd and `etc`/group. A numeric user
/// absent from passwd gets gid = uid unless a group is given. Throws ef::Error.
Credentials resolve_credentials(std::string_view user, std::string_view group, const std::string& etc = "/etc");

/// Parsed lines of a colon-separated database (passwd, group); malformed lines skipped.
std::vector<std::vector<std::string>> parse_colon_file(std::string_view text);

}  // namespace ef::init
