#pragma once
// `rbuild diff`: every difference between two EIFs, from header fields down
// to single files inside the ramdisks — the tool for "why do two builds differ".

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/eif_reader.h"

namespace ef::build {

struct Difference {
  std::string where;  // "header.default_mem", "section[3] ramdisk", "ramdisk[1] rootfs/etc/x"
  std::string a, b;   // the two values ("absent" when one side lacks it)
};

/// Compares header fields, metadata fields, each section (type, size, sha256)
/// and, inside ramdisks at the same index, each entry (type, mode, uid, gid,
/// mtime, size, sha256, link target, device numbers).
std::vector<Difference> diff_images(const eif::EifImage& a, const eif::EifImage& b);

nlohmann::ordered_json differences_json(const std::vector<Difference>& diffs);

}  // namespace ef::build
