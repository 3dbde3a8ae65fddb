// ra-web-srv: thin main over the library (attest/websrv/app.h).
#include <sys/stat.h>

#include <exception>
#include <iostream>

#include "attest/websrv/app.h"

int main(int argc, char** argv) {
  // Keys, the simulated NSM's CA and the file-index socket live in what this
  // process creates: nothing it makes is for anyone but its owner.
  ::umask(077);
  try {
    return ef::websrv::main_command(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "ra-web-srv: error: " << e.what() << "\n";
    return 1;
  }
}
