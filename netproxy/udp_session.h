#pragma once
// UDP over a stream. Enclave side (udp-to-stream): each client address of the
// UDP listener gets its own stream upstream carrying its datagrams framed; the
// replies come back framed and are sent to that client. Host side
// (stream-to-udp): each accepted stream gets a UDP socket connected to the
// target. Datagrams that do not fit the bounded queue are dropped (counted),
// as a congested network would.

#include <map>
#include <memory>
#include <string>

#include "netproxy/udp_frame.h"
#include "netproxy/worker.h"

namespace ef::netproxy {

inline constexpr std::size_t kUdpQueueLimit = 1 << 20;
inline constexpr Millis kUdpDefaultIdle{60'000};

/// A stream carrying frames: a bounded outgoing queue and an incoming parser.
struct FramedStream {
  UniqueFd fd;
  std::string out;
  std::size_t out_sent = 0;
  FrameParser parser;
  bool writable = false;

  /// Queues a frame; false (dropped) when the queue is full.
  bool queue(std::span<const std::uint8_t> datagram);
  /// Writes queued bytes; returns 0 or a fatal errno.
  int flush();
  /// Reads everything available, delivering datagrams; returns 0, -1 at end of stream, or an errno.
  int read_frames(const std::function<void(std::span<const std::uint8_t>)>& on_datagram);
};

class UdpFrontend;

/// Enclave side: one client address ↔ one stream upstream.
class UdpClientSession : public Session, public Handler, public std::enable_shared_from_this<UdpClientSession> {
 public:
  UdpClientSession(Worker& worker, ForwardRuntime& forward, UdpFrontend& frontend, SockAddr client, std::string key);
  void start();
  void send_datagram(std::span<const std::uint8_t> datagram);
  void on_event(std::uint32_t events) override;
  void on_tick(Clock::time_point now) override;
  void abort() override { close(ErrorKind::kCount); }

 private:
  void close(ErrorKind why);
  Worker& worker_;
  ForwardRuntime& forward_;
  UdpFrontend& frontend_;
  SockAddr client_;
  std::string key_;
  FramedStream stream_;
  bool connected_ = false, closed_ = false;
  Clock::time_point deadline_{}, last_activity_{};
};

/// Enclave side: the UDP listener; routes datagrams to per-client sessions.
class UdpFrontend : public Handler {
 public:
  UdpFrontend(Worker& worker, ForwardRuntime& forward, int fd);
  void on_event(std::uint32_t events) override;
  void forget(const std::string& key) { clients_.erase(key); }
  int fd() const { return fd_; }

 private:
  Worker& worker_;
  ForwardRuntime& forward_;
  int fd_;
  std::map<std::string, std::weak_ptr<UdpClientSession>> clients_;
};

/// Host side: one accepted stream ↔ one connected UDP socket.
class StreamUdpSession : public Session, public std::enable_shared_from_this<StreamUdpSession> {
 public:
  StreamUdpSession(Worker& worker, ForwardRuntime& forward, UniqueFd accepted);
  void start();
  void on_tick(Clock::time_point now) override;
  void abort() override { close(ErrorKind::kCount); }

 private:
  struct Side : Handler {
    StreamUdpSession* session = nullptr;
    bool udp = false;
    void on_event(std::uint32_t events) override { session->on_event(udp, events); }
  };
  void on_event(bool udp, std::uint32_t events);
  void close(ErrorKind why);
  Worker& worker_;
  ForwardRuntime& forward_;
  FramedStream stream_;
  UniqueFd udp_;
  Side stream_side_, udp_side_;
  bool closed_ = false;
  Clock::time_point last_activity_{};
};

}  // namespace ef::netproxy
