#pragma once
// The seam between the Nitro backend and nitro-cli: a command runner that
// tests replace, so they check the exact argv and feed real nitro-cli JSON.

#include <memory>
#include <string>
#include <vector>

namespace ef::engine::nitro {

struct CommandResult {
  int exit_code = 0;
  std::string out, err;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  /// Runs argv (argv[0] absolute or found on $PATH) to completion.
  virtual CommandResult run(const std::vector<std::string>& argv) = 0;
};

/// fork/exec with stdout and stderr captured (stdin /dev/null).
std::unique_ptr<CommandRunner> system_runner();

}  // namespace ef::engine::nitro
