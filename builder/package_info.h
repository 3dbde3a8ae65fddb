#pragma once
// Which Debian package owns a host file, and which version of a package is
// installed: what provenance records so an auditor (or `rbuild reproduce`)
// can name every input beyond this machine. Behind an interface: the real one
// asks dpkg, tests use FakePackageDb.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ef::build {

struct DebPackage {
  std::string name;            // binary package, without ":arch" ("libc6")
  std::string version;         // "2.36-9+deb12u14"
  std::string arch;            // "amd64", "all"
  std::string source;          // source package ("glibc")
  std::string source_version;  // usually == version
  bool operator==(const DebPackage&) const = default;
};

class PackageDb {
 public:
  virtual ~PackageDb() = default;
  /// The installed package owning each of `paths` (absolute); paths no
  /// package owns are absent from the result. One query for all of them.
  virtual std::map<std::string, DebPackage> owners(const std::vector<std::string>& paths) = 0;
  /// The installed version of each named package; packages not installed are absent.
  virtual std::map<std::string, DebPackage> installed(const std::vector<std::string>& names) = 0;
  /// Every version of `name` the configured archive offers (apt-cache madison), newest first.
  virtual std::vector<std::string> available(const std::string& name) = 0;
};

/// dpkg -S, dpkg-query -W and apt-cache madison. A path is also tried under
/// its merged-/usr twin (/lib/x → /usr/lib/x), as Debian 12 packages ship either.
std::unique_ptr<PackageDb> system_package_db();

/// In-memory package database for tests.
class FakePackageDb : public PackageDb {
 public:
  std::map<std::string, DebPackage> files;     // path → owner
  std::map<std::string, DebPackage> packages;  // name → installed
  std::map<std::string, std::vector<std::string>> archive;  // name → available versions
  std::map<std::string, DebPackage> owners(const std::vector<std::string>& paths) override;
  std::map<std::string, DebPackage> installed(const std::vector<std::string>& names) override;
  std::vector<std::string> available(const std::string& name) override;
};

/// The package URL (purl spec, type "deb"): pkg:deb/debian/NAME@VERSION?arch=ARCH,
/// with the version percent-encoded ("1:2.3+x" → "1%3A2.3%2Bx").
std::string deb_purl(const DebPackage& p);

/// Where Debian's snapshot archive keeps this version: https://snapshot.debian.org/package/SOURCE/VERSION/.
std::string snapshot_url(const DebPackage& p);

nlohmann::ordered_json package_json(const DebPackage& p);
/// Inverse of package_json; errors name `where`.
DebPackage package_from_json(const nlohmann::json& j, const std::string& where);

/// Parses `dpkg -S` output lines ("pkg[:arch][, pkg2]: /path"); diversion lines are skipped.
std::map<std::string, std::string> parse_dpkg_search(const std::string& out);
/// Parses lines of NAME\tVERSION\tARCH\tSOURCE\tSOURCEVERSION (the dpkg-query format rbuild uses).
std::map<std::string, DebPackage> parse_dpkg_query(const std::string& out);
/// Parses `apt-cache madison NAME` output: the versions, in order.
std::vector<std::string> parse_madison(const std::string& out);

/// Package names listed in a file like scripts/image-inputs.txt: whitespace-
/// separated, '#' starts a comment.
std::vector<std::string> read_package_list(const std::filesystem::path& path);

}  // namespace ef::build
