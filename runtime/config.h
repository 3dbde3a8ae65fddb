#pragma once
// The service file /etc/init.yaml: what init runs and how it supervises it.

#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ef::init {

using Millis = std::int64_t;

enum class RestartPolicy { kNo, kAlways, kOnFailure, kOnSuccess };

/// Restart delay grows from `initial` by `factor` up to `maximum`; a run that
/// lasted `reset_after` or longer resets the growth.
struct Backoff {
  Millis initial = 100;
  double factor = 2.0;
  Millis maximum = 30'000;
  Millis reset_after = 10'000;
  bool operator==(const Backoff&) const = default;
};

/// More than `count` restarts within `window` and the service is given up.
struct RestartLimit {
  int count = 10;
  Millis window = 60'000;
  bool operator==(const RestartLimit&) const = default;
};

/// When a service counts as ready. kNone: as soon as it runs.
struct Readiness {
  enum class Kind { kNone, kTcp, kVsock, kFile } kind = Kind::kNone;
  int port = 0;
  std::uint32_t cid = 1;  // vsock: VMADDR_CID_LOCAL
  std::string path;
  Millis timeout = 30'000;
  bool operator==(const Readiness&) const = default;
};

struct LogSpec {
  bool file = true;
  bool console = true;
  std::uint64_t max_bytes = 1 << 20;
  int keep = 3;
  bool operator==(const LogSpec&) const = default;
};

struct ServiceSpec {
  std::string name;
  std::string exec;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir = "/";
  std::string user;   // name or number; empty: init's own
  std::string group;  // name or number; empty: the user's primary group
  bool enabled = true;
  RestartPolicy restart = RestartPolicy::kOnFailure;
  Backoff backoff;
  RestartLimit limit;
  std::vector<std::string> after;     // ordering only
  std::vector<std::string> requires_;  // ordering + not started if these fail
  Readiness ready;
  int stop_signal = SIGTERM;
  Millis stop_timeout = 5'000;
  std::vector<int> forward_signals;  // signals init passes on to this service
  bool critical = false;             // when it ends for good, the system shuts down
  LogSpec log;
  int line = 0;  // where it was declared, for messages

  bool operator==(const ServiceSpec&) const = default;
};

struct HeartbeatSpec {
  bool enabled = true;
  std::uint32_t cid = 3;
  std::uint32_t port = 9000;
  Millis timeout = 20'000;
};

struct ControlSpec {
  std::string socket = "/run/init.sock";
  std::uint32_t vsock_port = 9001;  // 0: no vsock listener
  /// Peer CIDs the vsock listener answers; empty means any.
  std::vector<std::uint32_t> vsock_allow = {3};
  std::size_t max_request = 64 * 1024;
  Millis request_timeout = 5'000;
};

struct InitConfig {
  std::string file;  // where it came from
  std::string hostname;
  HeartbeatSpec heartbeat;
  ControlSpec control;
  std::string log_dir = "/run/init/log";
  /// Kernel modules (.ko paths) loaded at boot in VM mode, before the control API starts.
  std::vector<std::string> modules;
  std::vector<ServiceSpec> services;  // in document order

  const ServiceSpec* find(std::string_view name) const;
};

/// Parses the YAML text; every error names file:line: key.
InitConfig parse_config(std::string_view text, const std::string& file);
/// Reads and parses a file.
InitConfig load_config(const std::string& path);
/// Only the `control:` section of a service file whose whole does not parse:
/// what it asks for when that section parses (the defaults when the file has
/// none), nullopt when the YAML itself or that section is broken. Never throws.
std::optional<ControlSpec> parse_control_section(std::string_view text, const std::string& file);

/// A service file as a VM's PID 1 (which must not exit) loads it: on any error
/// `config` runs no service and keeps the file's `control:` when that part
/// parses (`control_from_file`), and `error` says why (file:line: key: ...).
struct Pid1Config {
  InitConfig config;
  std::string error;  // "" when the file loaded
  bool control_from_file = true;
};
Pid1Config load_config_never_throw(const std::string& path);

/// "250ms", "5s", "2m", "1h" or a bare number of milliseconds.
Millis parse_duration(std::string_view text);
/// "SIGTERM", "TERM", "15" -> 15; throws ef::Error on anything else.
int parse_signal(std::string_view text);
std::string signal_name(int sig);

std::string_view to_string(RestartPolicy p);

}  // namespace ef::init
