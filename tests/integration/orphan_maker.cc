// Test helper: makes N orphans. Each child forks a grandchild and exits at
// once, so the grandchild is re-parented to the nearest reaper (init) and
// exits there a moment later.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100;
  for (int i = 0; i < n; ++i) {
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
      pid_t grandchild = fork();
      if (grandchild == 0) {
        usleep(2000);
        _exit(0);
      }
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
  }
  return 0;
}
