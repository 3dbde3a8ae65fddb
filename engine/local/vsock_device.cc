#include "engine/local/vsock_device.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "base/log.h"

namespace ef::engine::local {
namespace {
// EF_VSOCK_TRACE=1: one stderr line per packet (debugging the flow control).
const bool kTrace = std::getenv("EF_VSOCK_TRACE") != nullptr;
void trace(const char* dir, const VsockHeader& h) {
  if (kTrace)
    std::fprintf(stderr, "vsock %s %s %llu:%u -> %llu:%u len=%u flags=%u buf_alloc=%u fwd_cnt=%u\n", dir,
                 op_name(h.op), (unsigned long long)h.src_cid, h.src_port, (unsigned long long)h.dst_cid, h.dst_port,
                 h.len, h.flags, h.buf_alloc, h.fwd_cnt);
}
}  // namespace

struct VsockDevice::Conn {
  enum class State { handshake, connecting, established };
  State state = State::handshake;
  UniqueFd fd;
  std::uint32_t local_port = 0, guest_port = 0;
  std::uint64_t host_cid = 3;
  VsockCredit credit;
  std::vector<std::uint8_t> pending;  // guest bytes the host socket has not taken yet
  std::size_t pending_off = 0;
  bool host_eof = false;          // the host side will send nothing more
  bool hup = false;               // the host peer is gone; driven by ready_ only
  bool registered = false;        // in the event loop
  bool guest_no_tx = false;       // guest sent SHUTDOWN SEND
  bool guest_no_rx = false;       // guest sent SHUTDOWN RCV
  bool close_after_flush = false; // guest shut both ways: RST once pending is written
  bool in_ready = false;
  std::chrono::steady_clock::time_point deadline;
  bool keyed() const { return state != State::handshake; }
  std::size_t pending_bytes() const { return pending.size() - pending_off; }
};

/// Calls `run(ptr, n)` for each piece of segs[offset, offset+len), in order;
/// returns how many bytes the segments held of that range.
template <typename Run>
std::size_t for_each_run(const std::vector<Segment>& segs, std::size_t offset, std::size_t len, Run run) {
  std::size_t done = 0;
  for (const Segment& s : segs) {
    if (done == len) break;
    if (offset >= s.len) {
      offset -= s.len;
      continue;
    }
    std::size_t n = std::min<std::size_t>(s.len - offset, len - done);
    run(s.data + offset, done, n);
    done += n;
    offset = 0;
  }
  return done;
}

std::size_t scatter(const std::vector<Segment>& segs, std::size_t offset, const std::uint8_t* data, std::size_t len) {
  return for_each_run(segs, offset, len, [&](std::uint8_t* p, std::size_t at, std::size_t n) { std::memcpy(p, data + at, n); });
}

std::size_t gather(const std::vector<Segment>& segs, std::size_t offset, std::uint8_t* out, std::size_t len) {
  return for_each_run(segs, offset, len, [&](std::uint8_t* p, std::size_t at, std::size_t n) { std::memcpy(out + at, p, n); });
}

std::size_t segment_iovecs(const std::vector<Segment>& segs, std::size_t offset, std::size_t len,
                           std::vector<iovec>& out) {
  return for_each_run(segs, offset, len, [&](std::uint8_t* p, std::size_t, std::size_t n) { out.push_back({p, n}); });
}

VsockDevice::VsockDevice(EventLoop& loop, const GuestMemory& mem, Virtqueue& rx, Virtqueue& tx,
                         VsockDeviceConfig config, std::function<void(int)> notify)
    : loop_(loop), mem_(mem), rx_(rx), tx_(tx), config_(std::move(config)), notify_(std::move(notify)) {}

VsockDevice::~VsockDevice() {
  for (auto& [fd, c] : by_fd_)
    if (c->registered) loop_.remove(fd);
  if (listener_) loop_.remove(listener_.get());
}

void VsockDevice::listen() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string p = config_.uds.string();
  // "_<port>" (up to 11 bytes) must also fit for the guest → host sockets.
  if (p.size() + 11 >= sizeof(addr.sun_path))
    throw Error("vsock bridge socket path " + p + " is too long for a unix socket (" +
                std::to_string(sizeof(addr.sun_path) - 12) + " bytes at most)");
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_) throw_errno("socket", p);
  ::unlink(p.c_str());
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind", p);
  if (::listen(listener_.get(), 128) != 0) throw_errno("listen", p);
  loop_.add(listener_.get(), EPOLLIN, [this](std::uint32_t) { on_accept(); });
}

void VsockDevice::on_accept() {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        log::warn("accept on the bridge socket failed", {{"error", std::strerror(errno)}});
      return;
    }
    auto c = std::make_unique<Conn>();
    c->fd = UniqueFd(fd);
    c->deadline = std::chrono::steady_clock::now() + config_.connect_timeout;
    loop_.add(fd, EPOLLIN, [this, fd](std::uint32_t ev) { on_conn_event(fd, ev); });
    c->registered = true;
    by_fd_[fd] = std::move(c);
  }
}

VsockDevice::Conn* VsockDevice::find(std::uint32_t local_port, std::uint32_t guest_port) {
  auto it = by_key_.find(key(local_port, guest_port));
  return it == by_key_.end() ? nullptr : it->second;
}

VsockDevice::Conn* VsockDevice::find_fd(int fd) {
  auto it = by_fd_.find(fd);
  return it == by_fd_.end() ? nullptr : it->second.get();
}

std::uint32_t VsockDevice::allocate_local_port(std::uint32_t guest_port) {
  for (;;) {
    std::uint32_t p = next_local_port_++;
    if (next_local_port_ == 0) next_local_port_ = 1u << 30;
    if (!find(p, guest_port)) return p;
  }
}

bool VsockDevice::want_in(const Conn& c) const {
  if (c.state == Conn::State::handshake) return true;
  return c.state == Conn::State::established && !c.host_eof && !c.guest_no_rx && !c.in_ready &&
         c.credit.peer_free() > 0;
}

void VsockDevice::update_interest(Conn& c) {
  if (!c.registered) return;
  std::uint32_t ev = (want_in(c) ? EPOLLIN : 0u) | (c.pending_bytes() ? EPOLLOUT : 0u);
  loop_.modify(c.fd.get(), ev);
}

void VsockDevice::resume_reading(Conn& c) {
  if (c.hup) {
    if (!c.in_ready && !c.host_eof && !c.guest_no_rx && c.credit.peer_free() > 0) {
      c.in_ready = true;
      ready_.push_back(c.fd.get());
    }
    return;
  }
  update_interest(c);
}

void VsockDevice::read_connect_line(Conn& c) {
  char buf[64];
  ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_PEEK);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return close_conn(c);
  const char* nl = static_cast<const char*>(std::memchr(buf, '\n', static_cast<std::size_t>(n)));
  if (!nl) {
    if (n == sizeof buf) {
      (void)!::send(c.fd.get(), "ERROR line too long\n", 20, MSG_NOSIGNAL);
      close_conn(c);
    }
    return;  // the rest of the line is still on its way
  }
  std::size_t len = static_cast<std::size_t>(nl - buf) + 1;
  (void)!::recv(c.fd.get(), buf, len, 0);
  std::string line(buf, len - 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  unsigned long port = 0;
  bool ok = line.rfind("CONNECT ", 0) == 0 && line.size() > 8 && line.size() <= 18;
  for (std::size_t i = 8; ok && i < line.size(); ++i) {
    if (line[i] < '0' || line[i] > '9') ok = false;
    else port = port * 10 + static_cast<unsigned long>(line[i] - '0');
  }
  if (!ok || port > 0xffffffffUL) {
    std::string msg = "ERROR expected \"CONNECT <port>\"\n";
    (void)!::send(c.fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL);
    return close_conn(c);
  }
  c.guest_port = static_cast<std::uint32_t>(port);
  c.local_port = allocate_local_port(c.guest_port);
  c.host_cid = config_.host_cid;
  c.state = Conn::State::connecting;
  c.credit.buf_alloc = config_.buf_alloc;
  c.deadline = std::chrono::steady_clock::now() + config_.connect_timeout;
  by_key_[key(c.local_port, c.guest_port)] = &c;
  update_interest(c);
  queue_ctrl(c, VsockOp::request);
  process_rx();
}

void VsockDevice::on_conn_event(int fd, std::uint32_t events) {
  Conn* c = find_fd(fd);
  if (!c) return;
  if (c->state == Conn::State::handshake) {
    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) return close_conn(*c);
    return read_connect_line(*c);
  }
  if (c->state == Conn::State::connecting) {
    if (events & (EPOLLHUP | EPOLLERR)) reset_conn(*c);  // the client gave up
    process_rx();
    return;
  }
  if (events & EPOLLOUT) {
    flush_pending(*c);
    if (!(c = find_fd(fd))) return process_rx();
  }
  if (events & (EPOLLHUP | EPOLLERR)) {
    c->hup = true;
    loop_.remove(fd);
    c->registered = false;
    if (c->host_eof || c->pending_bytes()) {
      // Nothing left to read, or guest bytes that can no longer be delivered.
      reset_conn(*c);
      return process_rx();
    }
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->in_ready && !c->host_eof && !c->guest_no_rx) {
    c->in_ready = true;
    ready_.push_back(fd);
    update_interest(*c);
  }
  process_rx();
}

void VsockDevice::queue_ctrl(const VsockHeader& h) { ctrl_.push_back(h); }

void VsockDevice::queue_ctrl(Conn& c, VsockOp op, std::uint32_t flags) {
  VsockHeader h;
  h.src_cid = c.host_cid;
  h.dst_cid = config_.guest_cid;
  h.src_port = c.local_port;
  h.dst_port = c.guest_port;
  h.op = static_cast<std::uint16_t>(op);
  h.flags = flags;
  queue_ctrl(h);
}

void VsockDevice::reset_conn(Conn& c) {
  if (c.keyed()) {
    queue_ctrl(c, VsockOp::rst);
    ++stats_.resets;
  }
  close_conn(c);
}

void VsockDevice::close_conn(Conn& c) {
  int fd = c.fd.get();
  if (c.registered) loop_.remove(fd);
  if (c.keyed()) by_key_.erase(key(c.local_port, c.guest_port));
  by_fd_.erase(fd);  // destroys c (closes the fd)
}

void VsockDevice::maybe_credit_update(Conn& c) {
  if (c.state == Conn::State::established && c.credit.update_due()) queue_ctrl(c, VsockOp::credit_update);
}

bool VsockDevice::send_to_guest(const VsockHeader& hdr) {
  Chain ch;
  for (;;) {
    if (!rx_.pop(mem_, ch)) return false;
    if (ch.error.empty() && ch.writable_bytes() >= kVsockHeaderSize) break;
    ++stats_.bad_packets;
    log::warn("bad receive buffer from the guest",
              {{"error", ch.error.empty() ? "smaller than a vsock header" : ch.error}});
    rx_.push(ch.head, 0);
  }
  VsockHeader h = hdr;
  if (Conn* c = find(h.src_port, h.dst_port); c && h.src_cid == c->host_cid) c->credit.stamp(h);
  else h.buf_alloc = config_.buf_alloc;
  std::uint8_t raw[kVsockHeaderSize];
  encode_header(h, raw);
  trace("to-guest", h);
  scatter(ch.writable, 0, raw, sizeof raw);
  rx_.push(ch.head, kVsockHeaderSize);
  return true;
}

void VsockDevice::fill_from_host(Conn& c, bool& pushed) {
  std::uint32_t budget = c.credit.peer_free();
  if (kTrace) std::fprintf(stderr, "vsock fill port %u budget %u rx avail %u\n", c.local_port, budget, rx_.available());
  if (budget == 0) return update_interest(c);  // a CREDIT_UPDATE resumes it
  chains_.resize(std::max(chains_.size(), config_.max_batch));
  iov_.clear();
  caps_.clear();
  std::size_t count = 0, requested = 0;
  while (count < config_.max_batch && budget > 0 && iov_.size() < IOV_MAX - 8) {
    Chain& ch = chains_[count];
    if (!rx_.pop(mem_, ch)) break;
    if (!ch.error.empty() || ch.writable_bytes() <= kVsockHeaderSize) {
      if (count > 0) {  // give it back: it is handled first next round
        rx_.unpop(1);
        break;
      }
      ++stats_.bad_packets;
      log::warn("bad receive buffer from the guest", {{"error", ch.error.empty() ? "too small" : ch.error}});
      rx_.push(ch.head, 0);
      pushed = true;
      continue;
    }
    std::size_t cap = std::min<std::size_t>({ch.writable_bytes() - kVsockHeaderSize, budget, kVsockMaxPayload});
    segment_iovecs(ch.writable, kVsockHeaderSize, cap, iov_);
    caps_.push_back(static_cast<std::uint32_t>(cap));
    budget -= static_cast<std::uint32_t>(cap);
    requested += cap;
    ++count;
  }
  if (count == 0) {  // no receive buffers: wait for the guest's RX kick
    c.in_ready = true;
    ready_.push_front(c.fd.get());
    return;
  }
  ssize_t n = ::readv(c.fd.get(), iov_.data(), static_cast<int>(iov_.size()));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    rx_.unpop(static_cast<std::uint16_t>(count));
    return resume_reading(c);
  }
  if (n <= 0) {
    rx_.unpop(static_cast<std::uint16_t>(count));
    if (n < 0) return reset_conn(c);
    return on_host_eof(c);
  }
  std::size_t left = static_cast<std::size_t>(n), used = 0;
  for (; used < count && left > 0; ++used) {
    std::uint32_t take = static_cast<std::uint32_t>(std::min<std::size_t>(caps_[used], left));
    VsockHeader h;
    h.src_cid = c.host_cid;
    h.dst_cid = config_.guest_cid;
    h.src_port = c.local_port;
    h.dst_port = c.guest_port;
    h.op = static_cast<std::uint16_t>(VsockOp::rw);
    h.len = take;
    c.credit.stamp(h);
    std::uint8_t raw[kVsockHeaderSize];
    encode_header(h, raw);
    trace("to-guest", h);
    scatter(chains_[used].writable, 0, raw, sizeof raw);
    rx_.push(chains_[used].head, kVsockHeaderSize + take);
    left -= take;
  }
  rx_.unpop(static_cast<std::uint16_t>(count - used));
  c.credit.tx_cnt += static_cast<std::uint32_t>(n);
  stats_.to_guest_bytes += static_cast<std::uint64_t>(n);
  pushed = true;
  if (static_cast<std::size_t>(n) == requested || c.hup) {
    c.in_ready = true;  // probably more: come back after the others
    ready_.push_back(c.fd.get());
  } else {
    resume_reading(c);
  }
}

void VsockDevice::process_rx() {
  bool pushed = false;
  while (rx_.ready()) {
    if (!ctrl_.empty()) {
      if (!send_to_guest(ctrl_.front())) break;
      ctrl_.pop_front();
      pushed = true;
      continue;
    }
    if (ready_.empty()) break;
    int fd = ready_.front();
    ready_.pop_front();
    Conn* c = find_fd(fd);
    if (!c || !c->in_ready) continue;
    c->in_ready = false;
    if (c->state != Conn::State::established || c->host_eof || c->guest_no_rx) continue;
    std::size_t before = ready_.size();
    fill_from_host(*c, pushed);
    if (ready_.size() > before && ready_.front() == fd && !rx_.available()) break;  // out of buffers
  }
  if (pushed && rx_.should_notify()) notify_(kRxQueue);
}

void VsockDevice::on_host_eof(Conn& c) {
  c.host_eof = true;
  if (c.guest_no_tx && !c.pending_bytes()) {
    // Both directions are finished.
    queue_ctrl(c, VsockOp::rst);
    close_conn(c);
    return;
  }
  queue_ctrl(c, VsockOp::shutdown, kShutdownSend);
  if (c.hup && !c.pending_bytes() && c.guest_no_tx) return reset_conn(c);
  update_interest(c);
}

void VsockDevice::process_tx() {
  Chain ch;
  bool pushed = false;
  while (tx_.pop(mem_, ch)) {
    std::uint8_t raw[kVsockHeaderSize];
    if (!ch.error.empty() || gather(ch.readable, 0, raw, sizeof raw) != sizeof raw) {
      ++stats_.bad_packets;
      log::warn("bad packet from the guest", {{"error", ch.error.empty() ? "shorter than a vsock header" : ch.error}});
    } else {
      VsockHeader h = decode_header(raw);
      trace("from-guest", h);
      handle_packet(h, ch);
    }
    tx_.push(ch.head, 0);
    pushed = true;
  }
  if (pushed && tx_.should_notify()) notify_(kTxQueue);
  process_rx();
}

void VsockDevice::handle_packet(const VsockHeader& h, const Chain& chain) {
  std::string why = check_guest_header(h, config_.guest_cid, chain.readable_bytes() - kVsockHeaderSize);
  if (why.empty() && h.type != kVsockTypeStream) why = "socket type " + std::to_string(h.type) + " (only streams)";
  auto reply_rst = [&] {
    if (h.op == static_cast<std::uint16_t>(VsockOp::rst)) return;
    VsockHeader r;
    r.src_cid = h.dst_cid;
    r.dst_cid = h.src_cid;
    r.src_port = h.dst_port;
    r.dst_port = h.src_port;
    r.op = static_cast<std::uint16_t>(VsockOp::rst);
    queue_ctrl(r);
    ++stats_.resets;
  };
  if (!why.empty()) {
    ++stats_.bad_packets;
    log::warn("bad packet from the guest", {{"op", op_name(h.op)}, {"error", why}});
    if (h.src_cid == config_.guest_cid) reply_rst();
    return;
  }
  auto op = static_cast<VsockOp>(h.op);
  if (op == VsockOp::request) return on_request(h);
  Conn* c = find(h.dst_port, h.src_port);
  if (!c || c->host_cid != h.dst_cid) return reply_rst();
  c->credit.take_peer(h);
  dispatch(c, h, chain);
  // Every packet carries the guest's credit: a connection that waited for
  // room may go on (Linux piggybacks fwd_cnt on data and rarely sends CREDIT_UPDATE).
  if (Conn* again = find(h.dst_port, h.src_port); again && again->state == Conn::State::established)
    resume_reading(*again);
}

void VsockDevice::dispatch(Conn* c_, const VsockHeader& h, const Chain& chain) {
  Conn* c = c_;
  auto op = static_cast<VsockOp>(h.op);
  switch (op) {
    case VsockOp::response:
      if (c->state != Conn::State::connecting) return reset_conn(*c);
      {
        std::string ok = "OK " + std::to_string(c->local_port) + "\n";
        if (::send(c->fd.get(), ok.data(), ok.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(ok.size()))
          return reset_conn(*c);
      }
      c->state = Conn::State::established;
      ++stats_.connections;
      return update_interest(*c);
    case VsockOp::rst: return close_conn(*c);
    case VsockOp::shutdown: return on_shutdown(*c, h);
    case VsockOp::rw: return on_rw(*c, h, chain);
    case VsockOp::credit_update: return;
    case VsockOp::credit_request: return queue_ctrl(*c, VsockOp::credit_update);
    default: return;
  }
}

void VsockDevice::on_request(const VsockHeader& h) {
  auto refuse = [&](const std::string& why) {
    log::debug("guest connection refused", {{"port", std::to_string(h.dst_port)}, {"why", why}});
    VsockHeader r;
    r.src_cid = h.dst_cid;
    r.dst_cid = h.src_cid;
    r.src_port = h.dst_port;
    r.dst_port = h.src_port;
    r.op = static_cast<std::uint16_t>(VsockOp::rst);
    queue_ctrl(r);
    ++stats_.resets;
  };
  if (h.dst_cid != 2 && h.dst_cid != 3) return refuse("CID " + std::to_string(h.dst_cid) + " is not the host");
  if (Conn* old = find(h.dst_port, h.src_port)) {
    reset_conn(*old);
    return;
  }
  std::string path = config_.uds.string() + "_" + std::to_string(h.dst_port);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size() + 1, sizeof addr.sun_path - 1));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return refuse(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return refuse(path + ": " + std::strerror(errno));
  int raw = fd.get();
  auto c = std::make_unique<Conn>();
  c->fd = std::move(fd);
  c->state = Conn::State::established;
  c->local_port = h.dst_port;
  c->guest_port = h.src_port;
  c->host_cid = h.dst_cid;
  c->credit.buf_alloc = config_.buf_alloc;
  c->credit.take_peer(h);
  Conn& ref = *c;
  by_fd_[raw] = std::move(c);
  by_key_[key(ref.local_port, ref.guest_port)] = &ref;
  loop_.add(raw, 0, [this, raw](std::uint32_t ev) { on_conn_event(raw, ev); });
  ref.registered = true;
  ++stats_.connections;
  queue_ctrl(ref, VsockOp::response);
  update_interest(ref);
}

void VsockDevice::on_rw(Conn& c, const VsockHeader& h, const Chain& chain) {
  if (c.state != Conn::State::established) return reset_conn(c);
  if (h.len == 0) return;
  c.credit.rx_cnt += h.len;
  if (c.credit.overrun()) {
    log::warn("guest ignored the vsock credit; resetting", {{"port", std::to_string(c.local_port)}});
    return reset_conn(c);
  }
  if (c.guest_no_tx) return reset_conn(c);  // data after SHUTDOWN SEND
  iov_.clear();
  segment_iovecs(chain.readable, kVsockHeaderSize, h.len, iov_);
  deliver(c, iov_.data(), static_cast<int>(iov_.size()), h.len);
}

void VsockDevice::deliver(Conn& c, const iovec* iov, int iovcnt, std::size_t len) {
  std::size_t written = 0;
  if (!c.pending_bytes()) {
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<std::size_t>(iovcnt);
    ssize_t n = ::sendmsg(c.fd.get(), &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return reset_conn(c);
    written = n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  c.credit.fwd_cnt += static_cast<std::uint32_t>(written);
  stats_.to_host_bytes += written;
  if (written < len) {
    if (c.pending_off && c.pending_off == c.pending.size()) {
      c.pending.clear();
      c.pending_off = 0;
    }
    std::size_t skip = written;
    for (int i = 0; i < iovcnt; ++i) {
      const auto* b = static_cast<const std::uint8_t*>(iov[i].iov_base);
      std::size_t l = iov[i].iov_len;
      if (skip >= l) {
        skip -= l;
        continue;
      }
      c.pending.insert(c.pending.end(), b + skip, b + l);
      skip = 0;
    }
    update_interest(c);
  }
  maybe_credit_update(c);
}

void VsockDevice::flush_pending(Conn& c) {
  while (c.pending_bytes()) {
    ssize_t n = ::send(c.fd.get(), c.pending.data() + c.pending_off, c.pending_bytes(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return reset_conn(c);
    }
    c.pending_off += static_cast<std::size_t>(n);
    c.credit.fwd_cnt += static_cast<std::uint32_t>(n);
    stats_.to_host_bytes += static_cast<std::uint64_t>(n);
  }
  if (!c.pending_bytes()) {
    c.pending.clear();
    c.pending_off = 0;
    if (c.close_after_flush || (c.guest_no_tx && c.host_eof)) {
      queue_ctrl(c, VsockOp::rst);
      return close_conn(c);
    }
    if (c.guest_no_tx) ::shutdown(c.fd.get(), SHUT_WR);
  }
  maybe_credit_update(c);
  update_interest(c);
}

void VsockDevice::on_shutdown(Conn& c, const VsockHeader& h) {
  if (h.flags & kShutdownSend) c.guest_no_tx = true;
  if (h.flags & kShutdownRcv) c.guest_no_rx = true;
  bool both = c.guest_no_tx && c.guest_no_rx;
  if (c.pending_bytes()) {
    if (both) c.close_after_flush = true;
    return update_interest(c);
  }
  if (both || (c.guest_no_tx && c.host_eof)) {
    queue_ctrl(c, VsockOp::rst);
    return close_conn(c);
  }
  if (c.guest_no_tx) ::shutdown(c.fd.get(), SHUT_WR);
  update_interest(c);
}

void VsockDevice::tick() {
  auto now = std::chrono::steady_clock::now();
  std::vector<int> expired;
  for (auto& [fd, c] : by_fd_)
    if ((c->state == Conn::State::connecting || c->state == Conn::State::handshake) && now > c->deadline)
      expired.push_back(fd);
  for (int fd : expired)
    if (Conn* c = find_fd(fd)) {
      log::info("connection attempt timed out", {{"port", std::to_string(c->guest_port)}});
      reset_conn(*c);
    }
  if (!expired.empty()) process_rx();
}

void VsockDevice::reset() {
  std::vector<int> fds;
  for (auto& [fd, c] : by_fd_)
    if (c->keyed()) fds.push_back(fd);
  for (int fd : fds)
    if (Conn* c = find_fd(fd)) close_conn(*c);
  ctrl_.clear();
  ready_.clear();
}

}  // namespace ef::engine::local
