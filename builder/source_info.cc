#include "builder/source_info.h"

#include "builder/subprocess.h"

namespace ef::build {
namespace fs = std::filesystem;
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

CommandResult git(const fs::path& dir, std::vector<std::string> args) {
  std::vector<std::string> argv{"git", "-C", dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

}  // namespace

std::string source_uri_from_remote(const std::string& remote, const fs::path& base) {
  std::size_t scheme = remote.find("://");
  if (scheme != std::string::npos) {
    std::string rest = remote.substr(scheme + 3);
    std::size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    if (std::size_t at = authority.rfind('@'); at != std::string::npos) {
      std::string user = authority.substr(0, at);
      // keep "git@" of ssh URLs; drop any credential (user:password, tokens)
      authority = (user.find(':') == std::string::npos && remote.rfind("ssh", 0) == 0 ? user + "@" : "") +
                  authority.substr(at + 1);
    }
    std::string url = remote.substr(0, scheme + 3) + authority + (slash == std::string::npos ? "" : rest.substr(slash));
    return url.rfind("git+", 0) == 0 ? url : "git+" + url;
  }
  std::size_t colon = remote.find(':');
  if (colon != std::string::npos && remote.find('/') > colon)  // scp-like: git@host:path
    return "git+ssh://" + remote.substr(0, colon) + "/" + remote.substr(colon + 1);
  fs::path p = fs::path(remote).is_absolute() ? fs::path(remote) : base / remote;
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(p, ec);
  return "git+file://" + (ec ? p : canon).lexically_normal().string();
}

std::optional<SourceInfo> source_info(const fs::path& dir) {
  CommandResult top = git(dir, {"rev-parse", "--show-toplevel"});
  if (!top.ok()) return std::nullopt;
  SourceInfo s;
  s.toplevel = first_line(top.out);
  CommandResult head = git(s.toplevel, {"rev-parse", "HEAD"});
  if (!head.ok()) return std::nullopt;  // a repository without commits
  s.commit = first_line(head.out);
  CommandResult status = git(s.toplevel, {"status", "--porcelain"});
  s.clean = status.ok() && status.out.empty();
  CommandResult branch = git(s.toplevel, {"symbolic-ref", "--short", "-q", "HEAD"});
  if (branch.ok()) s.branch = first_line(branch.out);
  CommandResult when = git(s.toplevel, {"log", "-1", "--format=%ct", "HEAD"});
  if (when.ok()) s.commit_time = std::strtoll(when.out.c_str(), nullptr, 10);
  CommandResult remote = git(s.toplevel, {"remote", "get-url", "origin"});
  s.uri = remote.ok() && !first_line(remote.out).empty() ? source_uri_from_remote(first_line(remote.out), s.toplevel)
                                                          : "git+file://" + s.toplevel.string();
  return s;
}

bool git_tracks(const fs::path& toplevel, const fs::path& path) {
  return git(toplevel, {"ls-files", "--error-unmatch", "--", path.string()}).ok();
}

nlohmann::ordered_json source_dependency(const SourceInfo& s) {
  nlohmann::ordered_json ann{{"role", "source"}, {"treeClean", s.clean}, {"commitTime", s.commit_time}};
  if (!s.branch.empty()) ann["branch"] = s.branch;
  return {{"name", "source"}, {"uri", s.uri + "@" + s.commit}, {"digest", {{"gitCommit", s.commit}}},
          {"annotations", ann}};
}

}  // namespace ef::build
