#pragma once
// The virtio-vsock device behind the vhost-user bridge: it turns the guest's
// stream packets into host unix-socket streams and back, in the hybrid-vsock
// convention of Firecracker and rust-vmm's vhost-device-vsock:
//   host → guest: a client connects to `uds`, writes "CONNECT <port>\n" and,
//     once the guest accepted, reads "OK <host port>\n"; the stream is then
//     the guest socket's.
//   guest → host: a guest connection to the host CID (2 or 3) port P is
//     connected to the unix socket "<uds>_P", or reset when nobody listens.
// Flow control is the vsock credit scheme: at most `buf_alloc` undelivered
// guest bytes are buffered per connection; host bytes are read straight into
// the guest's receive buffers, only as many as the guest has room for.

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/uio.h>

#include "base/fd.h"
#include "engine/local/event_loop.h"
#include "engine/local/guest_memory.h"
#include "engine/local/virtqueue.h"
#include "engine/local/vsock_packet.h"

namespace ef::engine::local {

struct VsockDeviceConfig {
  std::uint64_t guest_cid = 16;
  /// The CID host-initiated connections come from, as the guest sees it
  /// (3 = the Nitro parent, so in-image code that trusts CID 3 works unchanged).
  std::uint64_t host_cid = 3;
  std::filesystem::path uds;           ///< host listener; guest→host port P goes to uds + "_P"
  std::uint32_t buf_alloc = 4u << 20;  ///< per-connection receive buffer advertised to the guest
  std::size_t max_batch = 64;          ///< receive buffers filled by one readv
  std::chrono::milliseconds connect_timeout{5000};
};

struct VsockDeviceStats {
  std::uint64_t to_guest_bytes = 0, to_host_bytes = 0, connections = 0, resets = 0, bad_packets = 0;
};

class VsockDevice {
 public:
  static constexpr int kRxQueue = 0, kTxQueue = 1;
  /// `notify(q)` interrupts the guest for queue q (writes the call eventfd).
  VsockDevice(EventLoop& loop, const GuestMemory& mem, Virtqueue& rx, Virtqueue& tx, VsockDeviceConfig config,
              std::function<void(int queue)> notify);
  ~VsockDevice();
  VsockDevice(const VsockDevice&) = delete;
  VsockDevice& operator=(const VsockDevice&) = delete;

  /// Binds and listens on config.uds (a stale socket file is replaced).
  void listen();
  /// The guest queued packets (TX kick).
  void process_tx();
  /// The guest queued receive buffers (RX kick), or anything else may have
  /// made progress possible: moves queued control packets and host data.
  void process_rx();
  /// Times out connection attempts the guest never answered. Call about once a second.
  void tick();
  /// The driver reset the device: every connection is dropped.
  void reset();

  std::size_t connection_count() const { return by_fd_.size(); }
  const VsockDeviceStats& stats() const { return stats_; }
  const VsockDeviceConfig& config() const { return config_; }

 private:
  struct Conn;
  using Key = std::uint64_t;
  static Key key(std::uint32_t local_port, std::uint32_t guest_port) {
    return (std::uint64_t(local_port) << 32) | guest_port;
  }

  void on_accept();
  void on_conn_event(int fd, std::uint32_t events);
  void read_connect_line(Conn& c);
  void handle_packet(const VsockHeader& h, const Chain& chain);
  void dispatch(Conn* c, const VsockHeader& h, const Chain& chain);
  void on_request(const VsockHeader& h);
  void on_rw(Conn& c, const VsockHeader& h, const Chain& chain);
  void on_shutdown(Conn& c, const VsockHeader& h);
  void deliver(Conn& c, const iovec* iov, int iovcnt, std::size_t len);
  void flush_pending(Conn& c);
  void on_host_eof(Conn& c);
  void queue_ctrl(const VsockHeader& h);
  void queue_ctrl(Conn& c, VsockOp op, std::uint32_t flags = 0);
  void reset_conn(Conn& c);  ///< RST to the guest, then close
  void close_conn(Conn& c);
  void resume_reading(Conn& c);
  void update_interest(Conn& c);
  void maybe_credit_update(Conn& c);
  bool want_in(const Conn& c) const;
  Conn* find(std::uint32_t local_port, std::uint32_t guest_port);
  Conn* find_fd(int fd);
  std::uint32_t allocate_local_port(std::uint32_t guest_port);
  bool send_to_guest(const VsockHeader& h);  ///< a control packet; false if no buffer
  void fill_from_host(Conn& c, bool& pushed);

  EventLoop& loop_;
  const GuestMemory& mem_;
  Virtqueue& rx_;
  Virtqueue& tx_;
  VsockDeviceConfig config_;
  std::function<void(int)> notify_;
  UniqueFd listener_;
  std::unordered_map<int, std::unique_ptr<Conn>> by_fd_;
  std::unordered_map<Key, Conn*> by_key_;
  std::deque<VsockHeader> ctrl_;
  std::deque<int> ready_;  ///< fds of connections with host bytes to move
  std::uint32_t next_local_port_ = 1u << 30;
  VsockDeviceStats stats_;
  // Scratch for the receive path (kept to avoid reallocating per batch).
  std::vector<Chain> chains_;
  std::vector<iovec> iov_;
  std::vector<std::uint32_t> caps_;
};

/// Copies `len` bytes of `data` into `segs` starting `offset` bytes in.
/// Returns the bytes copied (less when the segments end).
std::size_t scatter(const std::vector<Segment>& segs, std::size_t offset, const std::uint8_t* data, std::size_t len);
/// Copies up to `len` bytes out of `segs` starting `offset` bytes in.
std::size_t gather(const std::vector<Segment>& segs, std::size_t offset, std::uint8_t* out, std::size_t len);
/// Appends iovecs for bytes [offset, offset+len) of `segs`; returns the bytes covered.
std::size_t segment_iovecs(const std::vector<Segment>& segs, std::size_t offset, std::size_t len,
                           std::vector<iovec>& out);

}  // namespace ef::engine::local
