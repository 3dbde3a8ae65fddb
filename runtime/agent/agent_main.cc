// ef-agent: thin main (runtime/agent/agent_app.cc).
#include "runtime/agent/agent_app.h"

int main(int argc, char** argv) { return ef::agent::agent_main(argc, argv); }
