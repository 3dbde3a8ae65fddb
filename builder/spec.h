#pragma once
// specs/NAME.yaml: everything that goes into an image, named explicitly.
// Relative paths are relative to the spec file's directory.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ef::build {

/// The Nitro x86_64 kernel command line nitro-cli uses.
inline constexpr const char* kDefaultCmdline =
    "reboot=k panic=30 pci=off nomodules console=ttyS0 random.trust_cpu=on root=/dev/ram0";

enum class Arch { kX86_64, kAarch64 };

/// One ordered rootfs item. Paths inside the image (`dest`) are absolute in
/// the spec ("/bin/sh") and land under rootfs/ in the second ramdisk.
/// A host path named by the spec: as written (recorded in locks and
/// provenance, so they hold in any checkout) and resolved against the spec's directory.
struct InputPath {
  std::string text;
  std::filesystem::path resolved;
};

struct RootfsItem {
  enum class Kind { kDirectory, kTar, kOci, kFile, kSymlink, kDir, kDevice };
  Kind kind;
  std::filesystem::path source;  // host path (directory, tar, oci, file), resolved
  std::string source_text;       // the path as written in the spec (for provenance)
  std::string dest = "/";        // where it lands in the image
  std::optional<std::uint32_t> mode;
  std::string link_target;       // symlink
  char device_type = 0;          // 'c' or 'b'
  std::uint32_t major = 0, minor = 0;
  std::string key_path;          // "rootfs[3]" for messages and lock entries
  bool whiteouts = false;        // tar: apply `.wh.` markers as an OCI layer does
};

/// A runtime of this repository baked into the image.
struct Runtime {
  std::string name;                    // init, ra-web-srv, fs-monitor, pf-proxy
  InputPath binary;
  std::optional<InputPath> config;
};

struct Signing {
  InputPath certificate;
  InputPath key;
};

struct Spec {
  std::filesystem::path file;  // the spec's own path
  std::string name;
  std::string version;
  Arch arch = Arch::kX86_64;
  std::uint64_t cpus = 2;
  std::uint64_t memory_mib = 512;
  std::int64_t source_date_epoch = 0;
  InputPath kernel;
  std::string cmdline = kDefaultCmdline;
  std::optional<InputPath> init;  // a stock init binary (e.g. AWS's)
  std::optional<InputPath> nsm_module;
  std::vector<RootfsItem> rootfs;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::vector<Runtime> runtimes;  // sorted by name: a map in the spec has no order
  std::optional<Signing> signing;
  /// The spec's one canonical form (see canonical_json): what the EIF's
  /// metadata, the provenance's externalParameters.spec and the build stamp
  /// record. parse_spec(as_json.dump()) gives back the same Spec and the same
  /// as_json, whatever order the YAML (or a JSON reader) gave its maps.
  nlohmann::ordered_json as_json;
};

/// The canonical form of a JSON value: every object's keys in byte order
/// (recursively), arrays in their given order. Used for the spec so a
/// rebuild from a provenance read back as an unordered map sees exactly the
/// bytes the build saw.
nlohmann::ordered_json canonical_json(const nlohmann::ordered_json& value);

/// Parses and validates a spec. Every error names file:line:key; unknown keys are errors.
/// The result is canonical: runtimes sorted by name, as_json = canonical_json(...).
/// Globs in kernel.path ("/boot/vmlinuz-*-cloud-amd64") must match exactly one file.
Spec load_spec(const std::filesystem::path& path);
Spec parse_spec(std::string_view text, const std::filesystem::path& path);

/// Runtime names this repository can bake, and where each lands in the image.
bool is_known_runtime(std::string_view name);

}  // namespace ef::build
