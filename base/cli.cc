#include "base/cli.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "base/error.h"

namespace ef::cli {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string_view closest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (auto c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::optional<int> parse_args(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return std::nullopt;
}

static void usage(std::string_view program, std::string_view description, std::span<const Command> commands) {
  std::printf("usage: %.*s COMMAND [ARGS...]\n\n%.*s\n\ncommands:\n", int(program.size()), program.data(),
              int(description.size()), description.data());
  for (const Command& c : commands)
    std::printf("  %-20.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.summary.size()), c.summary.data());
  std::printf("\nRun '%.*s COMMAND --help' for a command's options.\n", int(program.size()), program.data());
}

int dispatch(std::string_view program, std::string_view description, std::span<const Command> commands, int argc,
             char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h" ||
      std::string_view(argv[1]) == "help") {
    usage(program, description, commands);
    return argc < 2 ? 2 : 0;
  }
  if (std::string_view(argv[1]) == "--version") {
    std::printf("%.*s %s\n", int(program.size()), program.data(), EF_VERSION);
    return 0;
  }
  std::string_view name = argv[1];
  for (const Command& c : commands) {
    if (c.name != name) continue;
    try {
      return c.run(std::vector<std::string>(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%.*s %.*s: error: %s\n", int(program.size()), program.data(), int(name.size()),
                   name.data(), e.what());
      return 1;
    }
  }
  std::vector<std::string_view> names;
  for (const Command& c : commands) names.push_back(c.name);
  std::fprintf(stderr, "%.*s: unknown command '%.*s'", int(program.size()), program.data(), int(name.size()),
               name.data());
  if (auto guess = closest(name, names); !guess.empty())
    std::fprintf(stderr, " (did you mean '%.*s'?)", int(guess.size()), guess.data());
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace ef::cli
