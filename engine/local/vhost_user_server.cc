#include "engine/local/vhost_user_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"
#include "base/file.h"
#include "base/log.h"
#include "engine/local/le.h"

namespace ef::engine::local {

bool receive_vhost_user_message(int fd, VhostUserMessage& out, std::vector<UniqueFd>& fds) {
  std::uint8_t hdr[kVhostUserHeaderSize];
  iovec iov{hdr, sizeof hdr};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kVhostUserMaxFds)];
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("recvmsg", "vhost-user socket");
  fds.clear();
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int f;
      std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      fds.emplace_back(f);
    }
  }
  if (n == 0) return false;
  if (m.msg_flags & MSG_CTRUNC) throw Error("vhost-user message: more than 8 file descriptors attached");
  if (static_cast<std::size_t>(n) != sizeof hdr)
    throw FormatError("vhost-user message", static_cast<std::uint64_t>(n), "header truncated");
  VhostUserHeader h = decode_vhost_user_header(hdr);
  std::vector<std::uint8_t> payload(h.size);
  std::size_t got = 0;
  while (got < payload.size()) {
    ssize_t r = ::read(fd, payload.data() + got, payload.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw_errno("read", "vhost-user payload");
    if (r == 0) throw FormatError("vhost-user message", 12 + got, "payload truncated (front end hung up)");
    got += static_cast<std::size_t>(r);
  }
  out = decode_vhost_user_message(h, payload, fds.size());
  return true;
}

VhostUserServer::VhostUserServer(EventLoop& loop, VsockDeviceConfig config) : loop_(loop), guest_cid_(config.guest_cid) {
  device_ = std::make_unique<VsockDevice>(loop_, mem_, rings_[0].vq, rings_[1].vq, std::move(config),
                                          [this](int q) { notify(q); });
}

VhostUserServer::~VhostUserServer() {
  for (std::size_t i = 0; i < kQueues; ++i)
    if (rings_[i].kick) loop_.remove(rings_[i].kick.get());
  if (conn_) loop_.remove(conn_.get());
}

void VhostUserServer::serve(UniqueFd conn) {
  conn_ = std::move(conn);
  loop_.add(conn_.get(), EPOLLIN, [this](std::uint32_t) { on_readable(); });
}

void VhostUserServer::on_readable() {
  VhostUserMessage msg;
  std::vector<UniqueFd> fds;
  try {
    if (!receive_vhost_user_message(conn_.get(), msg, fds)) {
      log::info("the front end closed the vhost-user connection");
      loop_.remove(conn_.get());
      conn_.reset();
      return;
    }
    log::debug("vhost-user request", {{"request", vhost_user_request_name(msg.header.request)}});
    std::vector<std::uint8_t> reply;
    try {
      reply = handle(msg, fds);
      if (reply.empty() && msg.need_reply()) reply = encode_u64_reply(msg.header.request, 0);
    } catch (const Error& e) {
      if (!msg.need_reply()) throw;
      log::error(std::string("vhost-user ") + vhost_user_request_name(msg.header.request) + " refused",
                 {{"error", e.what()}});
      reply = encode_u64_reply(msg.header.request, 1);
    }
    if (!reply.empty()) write_all(conn_.get(), std::span<const std::uint8_t>(reply), "vhost-user socket");
  } catch (const Error& e) {
    log::error("vhost-user protocol error; dropping the front end", {{"error", e.what()}});
    loop_.remove(conn_.get());
    conn_.reset();
  }
}

VhostUserServer::Ring& VhostUserServer::ring(std::uint32_t index) {
  if (index >= kQueues) throw Error("vring index " + std::to_string(index) + " (this device has 2)");
  return rings_[index];
}

void VhostUserServer::stop_ring(std::size_t index) {
  Ring& r = rings_[index];
  if (r.kick) loop_.remove(r.kick.get());
  r.vq.stop();
  r.started = false;
  device_->reset();
}

std::vector<std::uint8_t> VhostUserServer::handle(const VhostUserMessage& msg, std::vector<UniqueFd>& fds) {
  const std::uint32_t req = msg.header.request;
  switch (static_cast<VhostUserRequest>(req)) {
    case VhostUserRequest::get_features: return encode_u64_reply(req, kFeatures);
    case VhostUserRequest::set_features: {
      std::uint64_t f = std::get<std::uint64_t>(msg.body);
      if (f & ~kFeatures) throw Error("SET_FEATURES " + std::to_string(f) + " has bits never offered");
      acked_features_ = f;
      return {};
    }
    case VhostUserRequest::get_protocol_features: return encode_u64_reply(req, kProtocolFeatures);
    case VhostUserRequest::set_protocol_features: {
      std::uint64_t f = std::get<std::uint64_t>(msg.body);
      if (f & ~kProtocolFeatures) throw Error("SET_PROTOCOL_FEATURES " + std::to_string(f) + " has bits never offered");
      protocol_features_ = f;
      return {};
    }
    case VhostUserRequest::get_queue_num: return encode_u64_reply(req, kQueues);
    case VhostUserRequest::set_owner: return {};
    case VhostUserRequest::reset_owner:
      for (std::size_t i = 0; i < kQueues; ++i) stop_ring(i);
      return {};
    case VhostUserRequest::set_mem_table:
      for (std::size_t i = 0; i < kQueues; ++i)
        if (rings_[i].started) throw Error("SET_MEM_TABLE while vring " + std::to_string(i) + " runs");
      mem_.map(std::get<MemTable>(msg.body), fds);
      return {};
    case VhostUserRequest::set_vring_num: {
      auto s = std::get<VringState>(msg.body);
      ring(s.index).vq.set_num(s.num);
      return {};
    }
    case VhostUserRequest::set_vring_base: {
      auto s = std::get<VringState>(msg.body);
      if (s.num > 0xffff) throw Error("SET_VRING_BASE " + std::to_string(s.num) + " above 65535");
      ring(s.index).vq.set_base(static_cast<std::uint16_t>(s.num));
      return {};
    }
    case VhostUserRequest::set_vring_addr: {
      auto a = std::get<VringAddr>(msg.body);
      ring(a.index).vq.set_addr(mem_, a.desc, a.avail, a.used);
      // Without F_PROTOCOL_FEATURES a ring starts enabled (vhost-user.rst, "Ring states").
      if (!(acked_features_ & kVhostUserFProtocolFeatures)) ring(a.index).vq.set_enabled(true);
      return {};
    }
    case VhostUserRequest::get_vring_base: {
      auto s = std::get<VringState>(msg.body);
      Ring& r = ring(s.index);
      std::uint16_t base = r.vq.base();
      stop_ring(s.index);
      return encode_vring_state_reply(req, {s.index, base});
    }
    case VhostUserRequest::set_vring_kick: {
      std::uint64_t v = std::get<std::uint64_t>(msg.body);
      auto index = static_cast<std::uint32_t>(v & kVringIndexMask);
      Ring& r = ring(index);
      if (r.kick) loop_.remove(r.kick.get());
      r.kick.reset();
      if (v & kVringNoFdFlag) throw Error("SET_VRING_KICK without an fd (polling mode is not supported)");
      r.kick = std::move(fds.at(0));
      // Read without blocking: on_kick() also runs when nothing was signalled.
      ::fcntl(r.kick.get(), F_SETFL, ::fcntl(r.kick.get(), F_GETFL) | O_NONBLOCK);
      loop_.add(r.kick.get(), EPOLLIN, [this, index](std::uint32_t) { on_kick(index); });
      r.started = true;
      // The driver may have queued buffers before the back end was told about them.
      on_kick(index);
      return {};
    }
    case VhostUserRequest::set_vring_call: {
      std::uint64_t v = std::get<std::uint64_t>(msg.body);
      Ring& r = ring(static_cast<std::uint32_t>(v & kVringIndexMask));
      r.call = (v & kVringNoFdFlag) ? UniqueFd() : std::move(fds.at(0));
      return {};
    }
    case VhostUserRequest::set_vring_err: {
      std::uint64_t v = std::get<std::uint64_t>(msg.body);
      (void)ring(static_cast<std::uint32_t>(v & kVringIndexMask));
      return {};  // the fd (if any) is closed when `fds` goes out of scope
    }
    case VhostUserRequest::set_vring_enable: {
      auto s = std::get<VringState>(msg.body);
      ring(s.index).vq.set_enabled(s.num != 0);
      if (s.num) on_kick(s.index);
      return {};
    }
    case VhostUserRequest::get_config: {
      ConfigSpace want = std::get<ConfigSpace>(msg.body);
      // struct virtio_vsock_config { le64 guest_cid; }
      std::uint8_t cfg[8];
      put_le64(cfg, guest_cid_);
      if (want.offset > sizeof cfg || want.size > sizeof cfg - want.offset)
        throw Error("GET_CONFIG offset " + std::to_string(want.offset) + " size " + std::to_string(want.size) +
                    " outside the 8-byte vsock config");
      ConfigSpace out{want.offset, want.size, 0, std::vector<std::uint8_t>(cfg + want.offset, cfg + want.offset + want.size)};
      return encode_config_reply(req, out);
    }
    case VhostUserRequest::set_config: throw Error("SET_CONFIG: the vsock config is read-only");
    case VhostUserRequest::set_log_base:
    case VhostUserRequest::set_log_fd: throw Error("dirty logging was not offered");
  }
  throw Error("unsupported vhost-user request " + std::to_string(req));
}

void VhostUserServer::on_kick(std::size_t index) {
  Ring& r = rings_[index];
  if (r.kick) {
    std::uint64_t v;
    (void)!::read(r.kick.get(), &v, sizeof v);  // an eventfd read takes the whole count
  }
  if (!r.vq.ready()) return;
  if (index == VsockDevice::kTxQueue) device_->process_tx();
  else device_->process_rx();
}

void VhostUserServer::notify(int queue) {
  Ring& r = rings_[static_cast<std::size_t>(queue)];
  if (!r.call) return;
  std::uint64_t one = 1;
  (void)!::write(r.call.get(), &one, sizeof one);
}

}  // namespace ef::engine::local
