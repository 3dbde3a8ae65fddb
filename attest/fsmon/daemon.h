#pragma once
// The fs-monitor daemon and the one-shot scan, wired from the library pieces.

#include <iosfwd>
#include <string>

#include "attest/fsmon/config.h"
#include "attest/fsmon/ignore.h"

namespace ef::fsmon {

/// Reads an ignore file (empty path: no rules); errors name the file.
IgnoreRules load_ignore_file(const std::string& path);

/// Watches, hashes and publishes until SIGINT/SIGTERM. Returns the exit code.
int run_daemon(const Config& config);

/// Hashes the tree under `dir` once and writes one JSON line per file and
/// directory, in path order: {"path":..,"kind":..,"sha3_512":..,"size":..}.
void scan_once(const std::string& dir, const IgnoreRules& ignore, int threads, std::ostream& out);

}  // namespace ef::fsmon
