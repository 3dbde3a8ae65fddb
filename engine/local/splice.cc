#include "engine/local/splice.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace ef::engine::local {

unsigned long long relay(int a, int b) {
  std::vector<char> buf(256 * 1024);
  int fds[2] = {a, b};
  bool open[2] = {true, true};  // direction i: fds[i] → fds[1-i]
  unsigned long long moved = 0;
  while (open[0] || open[1]) {
    pollfd p[2];
    int n = 0, map[2];
    for (int i = 0; i < 2; ++i)
      if (open[i]) {
        p[n] = {fds[i], POLLIN, 0};
        map[n++] = i;
      }
    if (::poll(p, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < n; ++k) {
      if (!p[k].revents) continue;
      int i = map[k];
      ssize_t r = ::read(fds[i], buf.data(), buf.size());
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        open[i] = false;
        ::shutdown(fds[1 - i], SHUT_WR);
        continue;
      }
      for (ssize_t off = 0; off < r;) {
        ssize_t w = ::send(fds[1 - i], buf.data() + off, static_cast<std::size_t>(r - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          open[0] = open[1] = false;
          break;
        }
        off += w;
      }
      moved += static_cast<unsigned long long>(r);
    }
  }
  return moved;
}

}  // namespace ef::engine::local
