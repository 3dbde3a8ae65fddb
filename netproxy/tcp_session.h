#pragma once
// One relayed TCP-like connection, through its life: (read the destination
// header) → connect upstream (sending the header first) → relay both ways →
// close. Modes forward, transparent, ingress and dialer.

#include <memory>

#include "netproxy/direction.h"
#include "netproxy/worker.h"

namespace ef::netproxy {

class TcpSession : public Session, public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Worker& worker, ForwardRuntime& forward, UniqueFd accepted);
  /// Begins according to the forward's mode; the worker must already own it.
  void start();
  void on_tick(Clock::time_point now) override;
  void abort() override { close(false, true); }

 private:
  enum class State { kHeader, kConnecting, kHybrid, kRelaying, kClosed };
  struct Side : Handler {
    TcpSession* session = nullptr;
    bool upstream = false;
    void on_event(std::uint32_t events) override { session->on_event(upstream, events); }
  };

  void on_event(bool upstream, std::uint32_t events);
  void read_header();
  void route(OriginalDst dst);
  void dial(const SockAddr& address);
  void on_connected();
  void start_relay();
  void read_hybrid_reply();
  void pump();
  void refuse(ErrorKind kind);
  void fail(ErrorKind kind, const std::string& detail);
  void close(bool graceful, bool reset);

  Worker& worker_;
  ForwardRuntime& forward_;
  UniqueFd down_fd_, up_fd_;
  Port down_, up_;
  Side down_side_, up_side_;
  Direction to_up_, to_down_;
  HeaderParser header_;
  std::string target_;  ///< for logs
  std::string hybrid_reply_;  ///< hvsock: the bridge's "OK …" line so far
  State state_ = State::kConnecting;
  Clock::time_point deadline_{};
  Clock::time_point last_activity_{};
};

}  // namespace ef::netproxy
