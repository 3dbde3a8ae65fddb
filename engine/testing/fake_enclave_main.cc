// ef-fake-enclave: the FakeBackend's stand-in for an enclave. Serves each
// --port=N on DIR/vsock-N.sock: a connection whose first bytes are "GET "
// gets "HTTP/1.0 200 OK" and "ok"; any other is echoed. Prints console lines
// (boot, each connection) to stdout, which the backend keeps as console.log.
// Exits on SIGTERM, or by itself after --exit-after MS (a crash stand-in).

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;

void serve(int conn) {
  char buf[4096];
  ssize_t n = read(conn, buf, sizeof buf);
  if (n >= 4 && std::memcmp(buf, "GET ", 4) == 0) {
    const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    (void)!write(conn, reply, sizeof reply - 1);
  } else {
    while (n > 0) {
      if (write(conn, buf, static_cast<std::size_t>(n)) != n) break;
      n = read(conn, buf, sizeof buf);
    }
  }
  close(conn);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  long exit_after = -1;
  std::vector<std::string> ports;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--image" && i + 1 < argc) ++i;
    else if (a.rfind("--port=", 0) == 0) ports.push_back(a.substr(7));
    else if (a == "--exit-after" && i + 1 < argc) exit_after = std::atol(argv[++i]);
    else {
      std::fprintf(stderr, "ef-fake-enclave: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (const char* e = std::getenv("EF_FAKE_EXIT_AFTER_MS")) exit_after = std::atol(e);
  signal(SIGTERM, [](int) { g_stop = 1; });
  signal(SIGPIPE, SIG_IGN);
  std::vector<pollfd> fds;
  for (const auto& p : ports) {
    std::string path = dir + "/vsock-" + p + ".sock";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return 3;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path.c_str());
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
      std::perror(("ef-fake-enclave: listen " + path).c_str());
      return 1;
    }
    fds.push_back({fd, POLLIN, 0});
  }
  std::printf("fake enclave %d booted, %zu ports\n", getpid(), ports.size());
  std::fflush(stdout);
  long waited = 0;
  while (!g_stop) {
    int r = poll(fds.data(), fds.size(), 50);
    waited += 50;
    if (exit_after >= 0 && waited >= exit_after) {
      std::printf("fake enclave exiting (exit-after)\n");
      return 1;
    }
    if (r <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int c = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::printf("connection on port %s\n", ports[i].c_str());
      std::fflush(stdout);
      std::thread(serve, c).detach();
    }
  }
  std::printf("fake enclave stopping\n");
  return 0;
}
