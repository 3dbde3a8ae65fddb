#pragma once
// Starting a service process: fork, drop privileges, exec. An exec failure is
// reported to the caller synchronously through a close-on-exec pipe.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "runtime/credentials.h"

namespace ef::init {

struct SpawnRequest {
  std::string exec;               // absolute, or searched in the PATH of `env`
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "K=V"
  std::string workdir = "/";
  std::optional<Credentials> creds;
  int output_fd = -1;  // becomes stdout and stderr; -1: /dev/null
};

/// Resolves a command name through a PATH string ("/bin:/usr/bin"); a name with
/// '/' is returned as is. Throws ef::Error when no executable is found.
std::string search_path(const std::string& exec, const std::string& path);

/// Forks and execs. The child gets a new session (its pid is its process
/// group), default signal handling and an empty signal mask. Throws ef::Error
/// naming the step that failed in the child (chdir, setuid, exec...).
pid_t spawn(const SpawnRequest& req);

}  // namespace ef::init
