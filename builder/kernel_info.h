#pragma once
// Facts read from a kernel image without running anything.

#include <filesystem>
#include <string>

namespace ef::build {

/// The version string an x86 bzImage carries in its setup header
/// ("6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP ..."), or
/// "" when the file is not a bzImage (aarch64 Image, test kernels).
std::string bzimage_version(const std::filesystem::path& kernel);

/// The first word of bzimage_version ("6.1.0-56-cloud-amd64"), or "unknown".
std::string kernel_release(const std::filesystem::path& kernel);

}  // namespace ef::build
