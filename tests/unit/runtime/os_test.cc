// Credentials, spawning and readiness probes against the real OS.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"
#include "runtime/credentials.h"
#include "runtime/probe.h"
#include "runtime/spawn.h"
#include "test_util.h"

using namespace ef::init;

TEST_CASE("credentials come from passwd and group files, not NSS") {
  test::TempDir etc;
  std::ofstream(etc / "passwd") << "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\n"
                                << "app:x:1000:1001:App:/home/app:/bin/sh\n";
  std::ofstream(etc / "group") << "root:x:0:\nappgrp:x:1001:\nextra:x:2000:app,other\nmore:x:2001:other,app\n";
  Credentials c = resolve_credentials("app", "", etc.path.string());
  CHECK(c.uid == 1000);
  CHECK(c.gid == 1001);
  CHECK(c.home == "/home/app");
  CHECK(c.groups == std::vector<gid_t>{2000, 2001});
  CHECK(resolve_credentials("app", "extra", etc.path.string()).gid == 2000);
  CHECK(resolve_credentials("1000", "", etc.path.string()).uid == 1000);
  Credentials n = resolve_credentials("4242", "77", etc.path.string());
  CHECK(n.uid == 4242);
  CHECK(n.gid == 77);
  CHECK_THROWS_WITH(resolve_credentials("ghost", "", etc.path.string()), Catch::Contains("unknown user 'ghost'"));
  CHECK_THROWS_WITH(resolve_credentials("app", "ghosts", etc.path.string()),
                    Catch::Contains("unknown group 'ghosts'"));
  CHECK(parse_colon_file("a:x:1:\nb:x:notanumber:\n").size() == 1);
}

TEST_CASE("spawn runs a program with env, workdir and output fd") {
  test::TempDir dir;
  int p[2];
  REQUIRE(pipe(p) == 0);
  ef::UniqueFd rd(p[0]), wr(p[1]);
  SpawnRequest req;
  req.exec = search_path("sh", "/usr/bin:/bin");
  req.argv = {"sh", "-c", "echo $GREETING $(pwd); echo err >&2"};
  req.env = {"GREETING=hi", "PATH=/bin:/usr/bin"};
  req.workdir = dir.path.string();
  req.output_fd = wr.get();
  pid_t pid = spawn(req);
  wr.reset();
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  char buf[256];
  ssize_t n = read(rd.get(), buf, sizeof buf);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "hi " + dir.path.string() + "\nerr\n");
}

TEST_CASE("spawn reports the failing step in the child") {
  SpawnRequest req;
  req.exec = "/nonexistent/prog";
  req.argv = {"prog"};
  CHECK_THROWS_WITH(spawn(req), "exec /nonexistent/prog: No such file or directory");
  req.exec = "/bin/sh";
  req.workdir = "/nonexistent-dir";
  CHECK_THROWS_WITH(spawn(req), "chdir /nonexistent-dir: No such file or directory");
  CHECK_THROWS_WITH(search_path("no-such-program-xyz", "/bin:/usr/bin"),
                    "'no-such-program-xyz' not found in PATH /bin:/usr/bin");
  CHECK(search_path("./x", "/bin") == "./x");
}

TEST_CASE("readiness probes: file and TCP") {
  test::TempDir dir;
  Readiness file;
  file.kind = Readiness::Kind::kFile;
  file.path = dir / "ready";
  CHECK_FALSE(probe_ready(file));
  std::ofstream(file.path) << "";
  CHECK(probe_ready(file));

  ef::UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  Readiness tcp;
  tcp.kind = Readiness::Kind::kTcp;
  tcp.port = ntohs(a.sin_port);
  CHECK_FALSE(probe_ready(tcp));  // bound, not listening
  REQUIRE(listen(s.get(), 4) == 0);
  CHECK(probe_ready(tcp));
  CHECK(probe_ready(Readiness{}));
}
