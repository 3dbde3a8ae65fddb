#pragma once
// ra-web-srv as a program: everything main() does, in the library.

#include <string>
#include <vector>

namespace ef::websrv {

/// ra-web-srv --config FILE | check-config FILE | --help. Returns the exit code
/// (0 ok, 1 error, 2 usage); `run` blocks until SIGINT/SIGTERM.
int main_command(std::vector<std::string> args);

}  // namespace ef::websrv
