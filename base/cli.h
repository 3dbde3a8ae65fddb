#pragma once
// Subcommands from one table with help text and "did you mean" (ninja habit).

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ef::cli {

struct Command {
  std::string_view name;
  std::string_view summary;
  /// Receives the arguments after the subcommand name; returns the exit code.
  std::function<int(std::vector<std::string> args)> run;
};

/// Dispatches argv[1] to its command. Prints usage for none/--help, and
/// "unknown command 'x' (did you mean 'y'?)" for a typo. Errors escaping a
/// command are printed once as "PROGRAM: error: MESSAGE" with exit code 1.
int dispatch(std::string_view program, std::string_view description, std::span<const Command> commands, int argc,
             char** argv);

/// Parses a command's arguments with CLI11. Returns nullopt when the command
/// should go on, or the exit code to return (0 after --help, 2 on a usage error).
std::optional<int> parse_args(CLI::App& app, std::vector<std::string> args);

/// Closest name within edit distance 2 (ninja's SpellcheckString), or "".
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates);

/// Levenshtein distance.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace ef::cli
