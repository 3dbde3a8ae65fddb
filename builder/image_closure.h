#pragma once
// Whether a program placed in an image can start there: its ELF interpreter and
// every shared library it needs, transitively, must be inside the image. rbuild
// checks this for runtimes at build time, so a missing library is a build error
// naming the library instead of an enclave that fails to boot its services.

#include <string>
#include <string_view>

#include "builder/fs_tree.h"

namespace ef::build {

/// Follows symlinks inside `tree` (targets are read relative to the tree path
/// `root`, which plays the part of "/") for every component of `path`, at most
/// 40 links. Returns the tree path reached, or "" when a component is missing,
/// a link loops or escapes upward past `root`.
std::string resolve_in_tree(const rootfs::FsTree& tree, std::string_view root, std::string_view path);

/// Throws ef::Error, naming `what`, the program's image path and every missing
/// file, unless the regular file at image path `program` (under tree path
/// `root`) is static, a script, or finds its PT_INTERP and all DT_NEEDED
/// libraries (searched, like ld.so without a cache, in /lib/<triplet> and
/// /usr/lib/<triplet>) inside the tree.
void require_runnable(const rootfs::FsTree& tree, std::string_view root, std::string_view program,
                      std::string_view triplet, const std::string& what);

}  // namespace ef::build
