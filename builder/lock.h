#pragma once
// lockfiles/NAME.lock.json: the sha256 and size of every input a spec names,
// the spec's own digest and rbuild's version. `rbuild build` refuses to run
// when anything differs, and lists every difference.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/input_digest.h"
#include "builder/spec.h"

namespace ef::build {

struct LockedInput {
  std::string name;   // "kernel", "rootfs[2]", "runtime.init.binary", ...
  std::string kind;   // "file" or "directory"
  std::string path;   // as written in the spec when relative, else absolute
  std::filesystem::path resolved;  // not serialised
  Digest digest;
};

struct Lock {
  int lock_version = 1;
  std::string rbuild_version;
  std::string spec_name;
  std::string spec_sha256;
  std::vector<LockedInput> inputs;
};

/// Every input of `spec`, in spec order, without digests.
std::vector<LockedInput> enumerate_inputs(const Spec& spec);

/// Every input of `spec` with its digest computed now.
std::vector<LockedInput> digest_inputs(const Spec& spec, DigestCache* cache = nullptr);

/// Digests every input now, plus the spec file itself (the work `rbuild lock` does).
Lock compute_lock(const Spec& spec, DigestCache* cache = nullptr);

nlohmann::ordered_json lock_to_json(const Lock& lock);
/// Parses a lockfile; errors name the file and the JSON field.
Lock lock_from_json(const nlohmann::json& j, const std::string& file);
Lock load_lock(const std::filesystem::path& path);

/// Compares the current state with the lock: one line per mismatch (empty when all hold).
std::vector<std::string> lock_mismatches(const Lock& locked, const Lock& current);

}  // namespace ef::build
