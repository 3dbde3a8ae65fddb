#include "builder/lock.h"

#include <map>

#include "base/error.h"
#include "base/file.h"
#include "base/json_integer.h"
#include "base/hash.h"

namespace ef::build {
namespace fs = std::filesystem;

std::vector<LockedInput> enumerate_inputs(const Spec& spec) {
  std::vector<LockedInput> out;
  auto add = [&](std::string name, const std::string& kind, const InputPath& p) {
    out.push_back(LockedInput{std::move(name), kind, p.text, p.resolved, {}});
  };
  add("kernel", "file", spec.kernel);
  if (spec.init) add("init", "file", *spec.init);
  if (spec.nsm_module) add("nsm_module", "file", *spec.nsm_module);
  for (const RootfsItem& item : spec.rootfs) {
    using K = RootfsItem::Kind;
    InputPath p{item.source_text, item.source};
    if (item.kind == K::kDirectory) add(item.key_path, "directory", p);
    else if (item.kind == K::kTar || item.kind == K::kOci || item.kind == K::kFile) add(item.key_path, "file", p);
  }
  for (const Runtime& rt : spec.runtimes) {
    add("runtimes." + rt.name + ".binary", "file", rt.binary);
    if (rt.config) add("runtimes." + rt.name + ".config", "file", *rt.config);
  }
  if (spec.signing) add("signing.certificate", "file", spec.signing->certificate);
  return out;
}

std::vector<LockedInput> digest_inputs(const Spec& spec, DigestCache* cache) {
  std::vector<LockedInput> inputs = enumerate_inputs(spec);
  for (LockedInput& in : inputs) {
    in.digest = with_context(in.name, [&] {
      return in.kind == "directory" ? digest_directory(in.resolved, cache) : digest_regular_file(in.resolved, cache);
    });
  }
  return inputs;
}

Lock compute_lock(const Spec& spec, DigestCache* cache) {
  Lock lock;
  lock.rbuild_version = EF_VERSION;
  lock.spec_name = spec.name;
  lock.spec_sha256 = to_hex(digest_file(HashAlgo::kSha256, spec.file));
  lock.inputs = digest_inputs(spec, cache);
  return lock;
}

nlohmann::ordered_json lock_to_json(const Lock& lock) {
  nlohmann::ordered_json j;
  j["lockVersion"] = lock.lock_version;
  j["rbuildVersion"] = lock.rbuild_version;
  j["spec"] = {{"name", lock.spec_name}, {"sha256", lock.spec_sha256}};
  j["inputs"] = nlohmann::ordered_json::array();
  for (const LockedInput& in : lock.inputs)
    j["inputs"].push_back({{"name", in.name},
                           {"kind", in.kind},
                           {"path", in.path},
                           {"sha256", in.digest.sha256},
                           {"size", in.digest.size}});
  return j;
}

namespace {

template <typename T>
T field(const nlohmann::json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) throw Error(where + ": missing field '" + key + "'");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return json_integer<T>(obj.at(key), where + ": field '" + key + "'");
  try {
    return obj.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": field '" + key + "' has the wrong type");
  }
}

}  // namespace

namespace {
bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

Lock lock_from_json(const nlohmann::json& j, const std::string& file) {
  Lock lock;
  lock.lock_version = field<int>(j, "lockVersion", file);
  if (lock.lock_version != 1) throw Error(file + ": lockVersion " + std::to_string(lock.lock_version) + " is not supported");
  lock.rbuild_version = field<std::string>(j, "rbuildVersion", file);
  auto spec = field<nlohmann::json>(j, "spec", file);
  lock.spec_name = field<std::string>(spec, "name", file + ": spec");
  lock.spec_sha256 = field<std::string>(spec, "sha256", file + ": spec");
  auto inputs = field<nlohmann::json>(j, "inputs", file);
  if (!inputs.is_array()) throw Error(file + ": field 'inputs' must be an array");
  std::map<std::string, std::size_t> seen;  // name -> index: a name locks one input
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::string where = file + ": inputs[" + std::to_string(i) + "]";
    LockedInput in;
    in.name = field<std::string>(inputs[i], "name", where);
    // Two entries of one name would make the lock ambiguous: which digest is
    // checked would depend on the order entries are looked up in.
    auto [first, fresh] = seen.emplace(in.name, i);
    if (!fresh)
      throw Error(where + ": input '" + in.name + "' is locked twice (first at inputs[" +
                  std::to_string(first->second) + "])");
    in.kind = field<std::string>(inputs[i], "kind", where);
    in.path = field<std::string>(inputs[i], "path", where);
    in.digest.sha256 = field<std::string>(inputs[i], "sha256", where);
    if (!is_sha256_hex(in.digest.sha256))
      throw Error(where + ": field 'sha256' must be 64 lower-case hex digits, got '" + in.digest.sha256 + "'");
    in.digest.size = field<std::uint64_t>(inputs[i], "size", where);
    lock.inputs.push_back(std::move(in));
  }
  return lock;
}

Lock load_lock(const fs::path& path) {
  nlohmann::json j = nlohmann::json::parse(read_text_file(path), nullptr, false);
  if (j.is_discarded()) throw Error(path.string() + ": not valid JSON");
  return lock_from_json(j, path.string());
}

std::vector<std::string> lock_mismatches(const Lock& locked, const Lock& current) {
  std::vector<std::string> out;
  if (locked.rbuild_version != current.rbuild_version)
    out.push_back("rbuild version: locked " + locked.rbuild_version + ", running " + current.rbuild_version);
  if (locked.spec_sha256 != current.spec_sha256)
    out.push_back("spec: the spec file changed since it was locked (sha256 " + locked.spec_sha256 + " → " +
                  current.spec_sha256 + ")");
  std::map<std::string, const LockedInput*> by_name;
  for (const LockedInput& in : locked.inputs) by_name[in.name] = &in;
  for (const LockedInput& in : current.inputs) {
    auto it = by_name.find(in.name);
    if (it == by_name.end()) {
      out.push_back(in.name + ": not in the lock (" + in.path + ")");
      continue;
    }
    const LockedInput& l = *it->second;
    if (l.digest.sha256 != in.digest.sha256 || l.digest.size != in.digest.size)
      out.push_back(in.name + ": " + in.path + " has sha256 " + in.digest.sha256 + " (" +
                    std::to_string(in.digest.size) + " bytes), the lock says " + l.digest.sha256 + " (" +
                    std::to_string(l.digest.size) + " bytes)");
    else if (l.path != in.path)
      out.push_back(in.name + ": path is " + in.path + ", the lock says " + l.path);
    by_name.erase(it);
  }
  for (const auto& [name, in] : by_name) out.push_back(name + ": locked but no longer in the spec (" + in->path + ")");
  return out;
}

}  // namespace ef::build
