// ra-web-srv: thin main over the library (attest/websrv/app.h).
#include <exception>
#include <iostream>

#include "attest/websrv/app.h"

int main(int argc, char** argv) {
  try {
    return ef::websrv::main_command(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "ra-web-srv: error: " << e.what() << "\n";
    return 1;
  }
}
