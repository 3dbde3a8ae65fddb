#pragma once
// Running a host program (dpkg-query, git, apt-get, cmake) and capturing what
// it prints. The one place rbuild starts other programs.

#include <filesystem>
#include <string>
#include <vector>

namespace ef::build {

struct CommandResult {
  int status = -1;     // exit status; 128+N when killed by signal N; 127 when it could not start
  std::string out;     // stdout
  std::string err;     // stderr
  bool ok() const { return status == 0; }
};

/// Runs argv[0] (searched in PATH) with `argv`, stdin from /dev/null, in
/// `cwd` when not empty; waits and returns what it printed. Throws only when
/// no process can be made at all (fork/pipe fail).
CommandResult run_command(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {});

/// Runs argv with stdout and stderr inherited (for long builds the user watches);
/// returns the exit status.
int run_command_inherit(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {});

}  // namespace ef::build
