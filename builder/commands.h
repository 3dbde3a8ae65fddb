#pragma once
// The rbuild subcommands. Each parses its own arguments (CLI11), prints its
// result and returns the exit code; errors are thrown and printed once by
// ef::cli::dispatch. rbuild_main.cc only holds the table.

#include <string>
#include <vector>

namespace ef::build {

using Args = std::vector<std::string>;

int cmd_lock(Args args);
int cmd_build(Args args);
int cmd_describe(Args args);
int cmd_pcr(Args args);
int cmd_verify(Args args);
int cmd_diff(Args args);
int cmd_extract(Args args);
int cmd_reproduce(Args args);

}  // namespace ef::build
