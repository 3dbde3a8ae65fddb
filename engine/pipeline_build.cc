#include "engine/pipeline_build.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "base/error.h"
#include "base/fd.h"
#include "engine/image.h"

namespace ef::engine {

int run_capture(const std::vector<std::string>& argv, std::string& out) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw_errno("create pipe for", argv[0]);
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = fork();
  if (pid < 0) throw_errno("fork for", argv[0]);
  if (pid == 0) {
    dup2(wr.get(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  wr.reset();
  char buf[4096];
  ssize_t n;
  while ((n = read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st) == 127 && out.empty() ? 127 : WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}

BuiltImage build_spec(const std::filesystem::path& rbuild, const std::filesystem::path& spec,
                      const std::filesystem::path& lock, const std::filesystem::path& out_dir) {
  std::string out;
  int rc = run_capture({rbuild.string(), "build", spec.string(), "--lock", lock.string(), "-o", out_dir.string(), "--json"}, out);
  if (rc == 127) throw Error("cannot run " + rbuild.string());
  if (rc != 0) throw Error("rbuild build " + spec.string() + " failed (exit " + std::to_string(rc) + "; its message is above)");
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("eif")) throw Error("rbuild build printed no JSON result");
  BuiltImage b;
  b.eif = j.at("eif").get<std::string>();
  b.pcrs = j.at("pcrs").get<std::string>();
  b.provenance = j.at("provenance").get<std::string>();
  std::string vout;
  rc = run_capture({rbuild.string(), "verify", b.eif.string(), "--provenance", b.provenance.string(), "--json"}, vout);
  if (rc != 0) throw Error("rbuild verify " + b.eif.string() + " against " + b.provenance.string() + " failed:\n" + vout);
  b.measurements = read_pcrs_json(b.pcrs);
  return b;
}

}  // namespace ef::engine
