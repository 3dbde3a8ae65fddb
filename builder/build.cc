#include "builder/build.h"

#include <sys/stat.h>

#include <cstdlib>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "builder/async_pcr.h"
#include "builder/build_environment.h"
#include "builder/content_cache.h"
#include "builder/cpio_writer.h"
#include "builder/eif_metadata.h"
#include "builder/eif_signature.h"
#include "builder/eif_writer.h"
#include "builder/elf_info.h"
#include "builder/image_closure.h"
#include "builder/fs_tree.h"
#include "builder/input_digest.h"
#include "builder/kernel_info.h"
#include "builder/layer_dir.h"
#include "builder/layer_oci.h"
#include "builder/layer_tar.h"
#include "builder/provenance.h"

namespace ef::build {
namespace fs = std::filesystem;
using rootfs::FsTree;

fs::path default_cache_dir() {
  if (const char* c = std::getenv("RBUILD_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "rbuild";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "rbuild";
  return fs::path(".cache") / "rbuild";
}

namespace {

std::string lines(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += i + "\n";
  return s;
}

const LockedInput& locked(const Lock& lock, const std::string& name) {
  for (const LockedInput& in : lock.inputs)
    if (in.name == name) return in;
  throw Error("input " + name + " is missing from the lock");
}

/// init runs as /init of the first ramdisk, before any root holding shared
/// libraries exists: it must be static.
void require_static(const fs::path& binary, const std::string& what) {
  if (auto interp = elf_interpreter(binary))
    throw Error(what + ": " + binary.string() + " is dynamically linked (interpreter " + *interp +
                "); images carry no shared libraries for it: link it statically");
}

/// Ramdisk 1, as nitro-cli lays it out: init, nsm.ko, dev/.
FsTree first_ramdisk(const Spec& spec) {
  FsTree t;
  const InputPath* init = spec.init ? &*spec.init : nullptr;
  for (const Runtime& rt : spec.runtimes)
    if (rt.name == "init") init = &rt.binary;
  require_static(init->resolved, "init");
  t.add_file_from_host("init", init->resolved, 0755);
  if (spec.nsm_module) t.add_file_from_host("nsm.ko", spec.nsm_module->resolved, 0644);
  t.add_directory("dev", 0755);
  return t;
}

void apply_normalized_directory(FsTree& t, const fs::path& dir, const std::string& dest, const std::string& name) {
  std::vector<rootfs::LayerEntry> entries = rootfs::read_directory_layer(dir);
  for (rootfs::LayerEntry& e : entries)
    if (e.kind == rootfs::LayerEntry::Kind::kFile || e.kind == rootfs::LayerEntry::Kind::kDirectory)
      e.mode = normalized_mode(e.kind == rootfs::LayerEntry::Kind::kDirectory, e.mode);
  rootfs::apply_layer_entries(t, entries, dest, false, rootfs::LayerOptions{}, name);
}

void apply_rootfs_item(FsTree& t, const RootfsItem& item, const Lock& lock, const rootfs::ContentCache& cache,
                       Arch spec_arch) {
  using K = RootfsItem::Kind;
  std::string dest = rootfs::join_path("rootfs", item.dest);
  with_context(item.key_path, [&] {
    switch (item.kind) {
      case K::kDirectory: apply_normalized_directory(t, item.source, dest, item.key_path); break;
      case K::kTar:
        rootfs::apply_tar_layer(t, item.source, dest, cache, locked(lock, item.key_path).digest.sha256, {},
                                item.whiteouts);
        break;
      case K::kOci: {
        rootfs::OciOptions oci;
        oci.platform = std::string("linux/") + (spec_arch == Arch::kAarch64 ? "arm64" : "amd64");
        rootfs::apply_oci_layer(t, item.source, dest, cache, oci);
        break;
      }
      case K::kFile: t.add_file_from_host(dest, item.source, item.mode.value_or(0644)); break;
      case K::kSymlink: t.add_symlink(dest, item.link_target); break;
      case K::kDir: t.add_directory(dest, item.mode.value_or(0755)); break;
      case K::kDevice:
        t.add_device(dest, item.device_type == 'c' ? rootfs::FsType::kCharDevice : rootfs::FsType::kBlockDevice,
                     item.major, item.minor, item.mode.value_or(0600));
        break;
    }
  });
}

/// Ramdisk 2: rootfs/… from the layers, the runtimes, then cmd and env.
FsTree second_ramdisk(const Spec& spec, const Lock& lock, const rootfs::ContentCache& cache) {
  FsTree t;
  t.add_directory("rootfs", 0755);
  for (const RootfsItem& item : spec.rootfs) apply_rootfs_item(t, item, lock, cache, spec.arch);
  for (const Runtime& rt : spec.runtimes) {
    if (rt.config) t.add_file_from_host("rootfs/etc/" + rt.name + ".yaml", rt.config->resolved, 0644);
    if (rt.name == "init") continue;
    t.add_file_from_host("rootfs/usr/bin/" + rt.name, rt.binary.resolved, 0755);
  }
  // Runtimes start after the switch into rootfs: a dynamically linked one is
  // fine when the image holds its loader and libraries.
  const char* triplet = spec.arch == Arch::kAarch64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  for (const Runtime& rt : spec.runtimes)
    if (rt.name != "init") require_runnable(t, "rootfs", "/usr/bin/" + rt.name, triplet, "runtimes." + rt.name);
  t.add_bytes("cmd", lines(spec.cmd), 0644);
  t.add_bytes("env", lines(spec.env), 0644);
  return t;
}

/// The spec as the image records it. Signing is how the image is vouched for,
/// not what it holds, so an unsigned rebuild of a signed image has the same
/// metadata. Every host path is replaced by "sha256:" and the digest the lock
/// holds for it: the image says what went in, not where it lay on the build
/// machine (/boot, a checkout, a Nix store path), so the same inputs give the
/// same bytes wherever they live. The provenance keeps the paths.
nlohmann::ordered_json recorded_spec(const Spec& spec, const Lock& lock) {
  nlohmann::ordered_json j = spec.as_json;
  j.erase("signing");
  auto digest = [&](const std::string& name) { return "sha256:" + locked(lock, name).digest.sha256; };
  if (j.contains("kernel")) j["kernel"]["path"] = digest("kernel");
  if (j.contains("init")) j["init"] = digest("init");
  if (j.contains("nsm_module")) j["nsm_module"] = digest("nsm_module");
  if (j.contains("rootfs"))
    for (std::size_t i = 0; i < j["rootfs"].size(); ++i)
      for (const char* key : {"directory", "tar", "oci", "file"})
        if (j["rootfs"][i].contains(key)) j["rootfs"][i][key] = digest("rootfs[" + std::to_string(i) + "]");
  if (j.contains("runtimes"))
    for (auto& [name, rt] : j["runtimes"].items()) {
      rt["binary"] = digest("runtimes." + name + ".binary");
      if (rt.contains("config")) rt["config"] = digest("runtimes." + name + ".config");
    }
  return j;
}

eif::IdentityInfo identity(const Spec& spec, const Lock& lock) {
  eif::IdentityInfo info;
  info.image_name = spec.name;
  info.image_version = spec.version;
  info.build_metadata = {eif::rfc3339_utc(spec.source_date_epoch), "rbuild", EF_VERSION, "Linux",
                         kernel_release(spec.kernel.resolved)};
  info.custom_metadata = {{"spec", recorded_spec(spec, lock)}};
  return info;
}

/// Streams one ramdisk into the writer and the PCR registers it feeds.
void write_ramdisk(eif::EifWriter& w, const FsTree& tree, std::uint64_t mtime, eif::AsyncPcrHasher& pcr0,
                   eif::PcrHasher& own_register) {
  w.begin_section(eif::SectionType::kRamdisk);
  rootfs::write_cpio(tree, mtime, [&](std::span<const std::uint8_t> chunk) {
    w.write(chunk);
    pcr0.update(chunk);
    own_register.update(chunk);
  });
  w.end_section();
}

/// Writes the EIF into `out`; returns the measurements.
eif::Measurements write_eif(const Spec& spec, const Lock& lock, const rootfs::ContentCache& cache, AtomicFile& out) {
  FsTree r1 = first_ramdisk(spec);
  FsTree r2 = second_ramdisk(spec, lock, cache);
  eif::ImageDefaults defaults{static_cast<std::uint16_t>(spec.arch == Arch::kAarch64 ? eif::kFlagAarch64 : 0),
                              spec.memory_mib << 20, spec.cpus};
  eif::EifWriter w(out.fd(), out.temp_path().string(), defaults);
  eif::AsyncPcrHasher pcr0;  // on the other core: every ramdisk byte feeds two registers
  eif::PcrHasher pcr1, pcr2;
  auto measured = [&](eif::SectionType type, std::span<const std::uint8_t> data) {
    w.add_section(type, data);
    pcr0.update(data);
    pcr1.update(data);
  };
  Bytes kernel = read_file(spec.kernel.resolved);
  measured(eif::SectionType::kKernel, kernel);
  measured(eif::SectionType::kCmdline,
           std::span(reinterpret_cast<const std::uint8_t*>(spec.cmdline.data()), spec.cmdline.size()));
  std::string metadata = eif::encode_metadata(identity(spec, lock));
  w.add_section(eif::SectionType::kMetadata,
                std::span(reinterpret_cast<const std::uint8_t*>(metadata.data()), metadata.size()));
  auto mtime = static_cast<std::uint64_t>(spec.source_date_epoch);
  write_ramdisk(w, r1, mtime, pcr0, pcr1);
  write_ramdisk(w, r2, mtime, pcr0, pcr2);
  eif::Measurements m{pcr0.finish(), pcr1.finish(), pcr2.finish(), std::nullopt};
  if (spec.signing) {
    std::string cert_pem = read_text_file(spec.signing->certificate.resolved);
    auto key = eif::load_signing_key(spec.signing->key.resolved.string());
    w.add_section(eif::SectionType::kSignature, eif::make_signature_section(cert_pem, key.get(), m.pcr0));
    m.pcr8 = eif::pcr_of_certificate_pem(spec.signing->certificate.resolved);
  }
  w.finish();
  return m;
}

/// The stamp: what the outputs were built from, and their stat signatures.
fs::path stamp_path(const BuildResult& r, const std::string& name) {
  return r.eif.parent_path() / ("." + name + ".rbuild-stamp");
}

nlohmann::json output_signature(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return nullptr;
  return {st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
}

std::string build_key(const Spec& spec, const Lock& lock, const BuildOptions& o, const BuildEnvironment& env) {
  Hasher h(HashAlgo::kSha256);
  // The environment is part of the key: a new commit or toolchain changes the provenance.
  for (const std::string& part : {lock_to_json(lock).dump(), spec.as_json.dump(), o.spec_path_text, o.lock_sha256,
                                  dependencies_json(lock.inputs, env).dump(), env.rbuild_sha256})
    h.update(part), h.update(std::string_view("\0", 1));
  return to_hex(h.finish());
}

/// True when the stamp says these outputs were built from exactly these
/// inputs and none of them has been touched since.
bool up_to_date(const BuildResult& r, const std::string& name, const std::string& key) {
  std::error_code ec;
  fs::path stamp = stamp_path(r, name);
  if (!fs::exists(stamp, ec)) return false;
  nlohmann::json j = nlohmann::json::parse(read_text_file(stamp), nullptr, false);
  if (j.is_discarded() || j.value("key", "") != key) return false;
  for (const fs::path& p : {r.eif, r.pcrs, r.provenance})
    if (!j.contains(p.filename().string()) || j[p.filename().string()] != output_signature(p)) return false;
  return true;
}

void write_stamp(const BuildResult& r, const std::string& name, const std::string& key) {
  nlohmann::json j{{"key", key}, {"eifSha256", r.eif_sha256}};
  for (const fs::path& p : {r.eif, r.pcrs, r.provenance}) j[p.filename().string()] = output_signature(p);
  write_file_atomic(stamp_path(r, name), j.dump() + "\n");
}

eif::Measurements measurements_from(const fs::path& pcrs_json) {
  nlohmann::json j = nlohmann::json::parse(read_text_file(pcrs_json));
  eif::Measurements m{from_hex(j.at("PCR0").get<std::string>()), from_hex(j.at("PCR1").get<std::string>()),
                      from_hex(j.at("PCR2").get<std::string>()), std::nullopt};
  if (j.contains("PCR8")) m.pcr8 = from_hex(j.at("PCR8").get<std::string>());
  return m;
}

}  // namespace

BuildResult build_image(const Spec& spec, const Lock& lock, const BuildOptions& options) {
  fs::create_directories(options.out_dir);
  rootfs::ContentCache cache(options.cache_dir);
  BuildResult r;
  r.eif = options.out_dir / (spec.name + ".eif");
  r.pcrs = options.out_dir / (spec.name + ".pcrs.json");
  r.provenance = options.out_dir / (spec.name + ".provenance.json");
  std::unique_ptr<PackageDb> packages = options.packages ? nullptr : system_package_db();
  BuildEnvironment env = collect_build_environment(spec, lock.inputs, options.packages ? *options.packages : *packages);
  std::string stamp_key = build_key(spec, lock, options, env);
  if (options.use_stamp && up_to_date(r, spec.name, stamp_key)) {
    nlohmann::json stamp = nlohmann::json::parse(read_text_file(stamp_path(r, spec.name)));
    r.eif_sha256 = stamp.at("eifSha256").get<std::string>();
    r.measurements = measurements_from(r.pcrs);
    r.up_to_date = true;
    return r;
  }

  AtomicFile eif_file(r.eif, 0644);
  r.measurements = write_eif(spec, lock, cache, eif_file);
  r.eif_sha256 = to_hex(digest_file(HashAlgo::kSha256, eif_file.temp_path()));

  nlohmann::ordered_json pcrs = eif::measurements_json(r.measurements);
  auto statement = make_provenance(spec, lock, options.lock_sha256,
                                   ProvenanceSubject{r.eif.filename().string(), r.eif_sha256, r.measurements}, env);
  statement["predicate"]["buildDefinition"]["externalParameters"]["specPath"] = options.spec_path_text;

  // Rename the EIF last: a build killed before that leaves the old outputs whole.
  AtomicFile pcrs_file(r.pcrs, 0644);
  pcrs_file.write(pcrs.dump(2) + "\n");
  AtomicFile prov_file(r.provenance, 0644);
  if (spec.signing) {
    // Signed images get a signed provenance: a DSSE envelope, same key.
    auto key = eif::load_signing_key(spec.signing->key.resolved.string());
    std::string keyid = to_hex(digest(HashAlgo::kSha256,
                                      eif::load_certificate_der(spec.signing->certificate.resolved.string())));
    prov_file.write(dsse_envelope(statement.dump(2), key.get(), keyid).dump(2) + "\n");
  } else {
    prov_file.write(statement.dump(2) + "\n");
  }
  pcrs_file.commit();
  prov_file.commit();
  eif_file.commit();
  if (options.use_stamp) write_stamp(r, spec.name, stamp_key);
  return r;
}

}  // namespace ef::build
