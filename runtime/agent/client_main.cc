// ef-agent-client: thin main (runtime/agent/client_cli.cc).
#include <cstdio>

#include "base/error.h"
#include "runtime/agent/client_cli.h"

int main(int argc, char** argv) {
  try {
    return ef::agent::client_cli_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ef-agent-client: error: %s\n", e.what());
    return 1;
  }
}
