#include "builder/package_info.h"

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "builder/subprocess.h"

namespace ef::build {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  std::size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

/// /lib/x ↔ /usr/lib/x (also bin, sbin, lib64): Debian 12 is merged-/usr, and a
/// package may ship either spelling.
std::optional<std::string> usr_twin(const std::string& p) {
  for (const char* top : {"/lib/", "/lib64/", "/bin/", "/sbin/", "/lib32/", "/libx32/"}) {
    if (p.rfind(top, 0) == 0) return "/usr" + p;
    if (p.rfind(std::string("/usr") + top, 0) == 0) return p.substr(4);
  }
  return std::nullopt;
}

class SystemPackageDb : public PackageDb {
 public:
  std::map<std::string, DebPackage> owners(const std::vector<std::string>& paths) override {
    if (paths.empty()) return {};
    std::vector<std::string> argv{"dpkg-query", "-S"};
    std::map<std::string, std::string> twin_of;  // twin → original
    for (const std::string& p : paths) {
      argv.push_back(p);
      if (auto t = usr_twin(p)) argv.push_back(*t), twin_of[*t] = p;
    }
    // Exit status 1 only says some path has no owner: the output still lists the others.
    CommandResult r = run_command(argv);
    if (r.status != 0 && r.status != 1) return {};
    std::map<std::string, std::string> found = parse_dpkg_search(r.out);
    std::map<std::string, std::string> owner_name;
    for (const auto& [path, pkg] : found) {
      auto t = twin_of.find(path);
      owner_name.emplace(t == twin_of.end() ? path : t->second, pkg);
    }
    std::vector<std::string> names;
    for (const auto& [path, pkg] : owner_name) names.push_back(pkg);
    std::map<std::string, DebPackage> pkgs = installed(names);
    std::map<std::string, DebPackage> out;
    for (const auto& [path, pkg] : owner_name)
      if (auto it = pkgs.find(pkg); it != pkgs.end()) out.emplace(path, it->second);
    return out;
  }

  std::map<std::string, DebPackage> installed(const std::vector<std::string>& names) override {
    if (names.empty()) return {};
    std::vector<std::string> argv{"dpkg-query", "-W", "-f",
                                  "${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${db:Status-"
                                  "Abbrev}\n"};
    argv.insert(argv.end(), names.begin(), names.end());
    CommandResult r = run_command(argv);
    if (r.status != 0 && r.status != 1) return {};
    return parse_dpkg_query(r.out);
  }

  std::vector<std::string> available(const std::string& name) override {
    CommandResult r = run_command({"apt-cache", "madison", name});
    if (!r.ok()) return {};
    return parse_madison(r.out);
  }
};

std::string percent_encode(const std::string& s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<PackageDb> system_package_db() { return std::make_unique<SystemPackageDb>(); }

std::map<std::string, DebPackage> FakePackageDb::owners(const std::vector<std::string>& paths) {
  std::map<std::string, DebPackage> out;
  for (const std::string& p : paths) {
    if (auto it = files.find(p); it != files.end()) out.emplace(p, it->second);
  }
  return out;
}

std::map<std::string, DebPackage> FakePackageDb::installed(const std::vector<std::string>& names) {
  std::map<std::string, DebPackage> out;
  for (const std::string& n : names)
    if (auto it = packages.find(n); it != packages.end()) out.emplace(n, it->second);
  return out;
}

std::vector<std::string> FakePackageDb::available(const std::string& name) {
  auto it = archive.find(name);
  return it == archive.end() ? std::vector<std::string>{} : it->second;
}

std::string deb_purl(const DebPackage& p) {
  return "pkg:deb/debian/" + percent_encode(p.name) + "@" + percent_encode(p.version) + "?arch=" + percent_encode(p.arch);
}

std::string snapshot_url(const DebPackage& p) {
  const std::string& src = p.source.empty() ? p.name : p.source;
  const std::string& ver = p.source_version.empty() ? p.version : p.source_version;
  return "https://snapshot.debian.org/package/" + percent_encode(src) + "/" + percent_encode(ver) + "/";
}

nlohmann::ordered_json package_json(const DebPackage& p) {
  return {{"name", p.name}, {"version", p.version}, {"arch", p.arch}, {"source", p.source},
          {"sourceVersion", p.source_version}};
}

DebPackage package_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": a Debian package must be an object");
  auto field = [&](const char* k, bool required) -> std::string {
    if (!j.contains(k)) {
      if (required) throw Error(where + ": missing field '" + k + "'");
      return "";
    }
    if (!j[k].is_string()) throw Error(where + ": field '" + std::string(k) + "' must be a string");
    return j[k].get<std::string>();
  };
  return DebPackage{field("name", true), field("version", true), field("arch", false), field("source", false),
                    field("sourceVersion", false)};
}

std::map<std::string, std::string> parse_dpkg_search(const std::string& out) {
  std::map<std::string, std::string> found;
  for (const std::string& raw : split(out, '\n')) {
    if (raw.rfind("diversion ", 0) == 0) continue;
    std::size_t colon = raw.find(": /");
    if (colon == std::string::npos) continue;
    std::string pkgs = raw.substr(0, colon), path = trim(raw.substr(colon + 2));
    std::string first = trim(split(pkgs, ',').front());
    if (std::size_t a = first.find(':'); a != std::string::npos) first.resize(a);
    if (!first.empty()) found.emplace(path, first);
  }
  return found;
}

std::map<std::string, DebPackage> parse_dpkg_query(const std::string& out) {
  std::map<std::string, DebPackage> pkgs;
  for (const std::string& line : split(out, '\n')) {
    std::vector<std::string> f = split(line, '\t');
    if (f.size() < 5 || f[0].empty() || f[1].empty()) continue;
    if (f.size() >= 6 && trim(f[5]).rfind("ii", 0) != 0) continue;  // known but not installed
    DebPackage p{f[0], f[1], f[2], f[3].empty() ? f[0] : f[3], f[4].empty() ? f[1] : f[4]};
    pkgs.emplace(p.name, p);
  }
  return pkgs;
}

std::vector<std::string> parse_madison(const std::string& out) {
  std::vector<std::string> versions;
  for (const std::string& line : split(out, '\n')) {
    std::vector<std::string> f = split(line, '|');
    if (f.size() < 3) continue;
    std::string v = trim(f[1]);
    if (!v.empty() && (versions.empty() || versions.back() != v)) versions.push_back(v);
  }
  return versions;
}

std::vector<std::string> read_package_list(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot read the package list");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (std::size_t h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream words(line);
    for (std::string w; words >> w;) names.push_back(w);
  }
  return names;
}

}  // namespace ef::build
