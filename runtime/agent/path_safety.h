#pragma once
// Which tar entry names and symlink targets may be extracted: everything stays
// beneath the destination. Pure functions (unit-tested); the extractor
// (tar_extract.h) also opens every component with O_NOFOLLOW, so a symlink
// already on disk cannot redirect a write either.

#include <string>
#include <string_view>
#include <vector>

namespace ef::agent {

/// Splits an entry name into components. Refuses (ef::Error with the reason)
/// an empty name, an absolute path, a NUL byte, "." or ".." components, and
/// names over 4096 bytes. A trailing "/" and "./" prefixes are tolerated.
std::vector<std::string> entry_components(std::string_view name);

/// A symlink at `entry` (its components below the copied tree's root, the root
/// itself excluded; at least one) pointing to `target` must resolve lexically
/// inside that root: refuses absolute targets and ".." that climbs above it.
void check_symlink_target(const std::vector<std::string>& entry, std::string_view target);

}  // namespace ef::agent
