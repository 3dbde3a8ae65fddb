#pragma once
// One direction of a relayed connection: bytes from a source socket to a
// destination socket through a bounded kernel pipe (splice, zero-copy) or a
// bounded user buffer (copy). Reads stop while the pipe/buffer is full
// (backpressure); end of input becomes shutdown(SHUT_WR) on the destination
// once everything has been delivered (half-close).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/fd.h"

namespace ef::netproxy {

/// A socket and what edge-triggered epoll last told about it.
struct Port {
  int fd = -1;
  bool readable = false;
  bool writable = false;
};

class Direction {
 public:
  /// `capacity` bounds the bytes held in flight; zero_copy selects splice.
  Direction(bool zero_copy, std::size_t capacity) : zero_copy_(zero_copy), capacity_(capacity) {}

  /// Bytes sent to the destination before any relayed data (the destination header).
  void set_prefix(std::vector<std::uint8_t> prefix) { prefix_ = std::move(prefix); }

  struct Result {
    std::uint64_t delivered = 0;  ///< bytes written to the destination
    bool progressed = false;      ///< anything read, written or shut down
    int error = 0;                ///< errno of a fatal failure, else 0
  };
  /// Moves bytes until neither side can make progress (EAGAIN or full/empty).
  Result pump(Port& src, Port& dst);

  /// Source ended, everything delivered, destination shut down for writing.
  bool finished() const { return shut_; }
  bool source_ended() const { return src_eof_; }
  std::size_t in_flight() const { return held_ + small_len_; }
  bool uses_splice() const { return zero_copy_; }

 private:
  int read_in(Port& src, bool& progressed);
  int write_out(Port& dst, Result& r);
  int ensure_pipe();

  bool zero_copy_;
  std::size_t capacity_;
  std::vector<std::uint8_t> prefix_;
  std::size_t prefix_sent_ = 0;
  UniqueFd pipe_r_, pipe_w_;
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t buf_off_ = 0;
  std::size_t held_ = 0;  ///< bytes in the pipe or buffer
  // Splice only for bulk (HAProxy's splice-auto): with zero_copy, a direction
  // reads into a small buffer and copies; a read that fills it switches to the
  // pipe until a splice finds the socket drained with the pipe empty. Small
  // messages so skip the pipe (two syscalls and page references each way).
  static constexpr std::size_t kSmall = 16 * 1024;
  std::unique_ptr<std::uint8_t[]> small_;  ///< allocated while it holds bytes
  std::size_t small_off_ = 0;
  std::size_t small_len_ = 0;  ///< bytes in small_ not yet written (sent before the pipe's)
  bool splicing_ = false;
  bool in_blocked_ = false;
  bool src_eof_ = false;
  bool shut_ = false;
};

}  // namespace ef::netproxy
