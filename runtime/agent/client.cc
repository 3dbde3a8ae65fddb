#include "runtime/agent/client.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "attest/ossl.h"
#include "attest/verify.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "runtime/agent/channel.h"
#include "runtime/agent/messages.h"
#include "runtime/agent/operators.h"
#include "runtime/agent/tar_stream.h"

namespace ef::agent {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

ossl::PkeyPtr load_operator_key(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_errno("stat operator key", path.string());
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw Error("operator key " + path.string() + " is accessible by others (mode " + mode + "); chmod 600 it");
  }
  ossl::PkeyPtr key = ossl::private_key_from_pem(read_text_file(path), "operator key " + path.string());
  const std::string curve = ossl::ec_curve_name(key.get());
  if (curve != "P-256" && curve != "P-384")
    throw Error("operator key " + path.string() + " must be EC P-256 or P-384");
  return key;
}

Bytes sign(EVP_PKEY* key, std::span<const std::uint8_t> message) {
  const EVP_MD* md = ossl::ec_curve_name(key) == "P-384" ? EVP_sha384() : EVP_sha256();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1)
    ossl::fail("signing AUTH");
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) ossl::fail("signing AUTH");
  sig.resize(len);
  return sig;
}

std::vector<Bytes> roots_from_pem(const std::string& pem) {
  std::vector<Bytes> out;
  for (auto& c : ossl::certs_from_pem(pem, "trust anchor (root_pem)")) out.push_back(ossl::cert_to_der(c.get()));
  return out;
}

[[noreturn]] void throw_remote(const Frame& f, std::string_view doing) {
  const ErrorMsg e = decode_error(f.payload);
  const char* kind = e.code == ErrorCode::kRefused  ? "refused"
                     : e.code == ErrorCode::kUnsafe ? "refused (unsafe)"
                     : e.code == ErrorCode::kProtocol ? "protocol error"
                                                      : "failed";
  throw Error(std::string(doing) + ": the agent " + kind + ": " + e.message);
}

class ClientImpl : public Client {
 public:
  ClientImpl(UniqueFd stream, const Expectations& expect, const OperatorKey& key) {
    // Everything that can fail locally fails before the first byte goes out.
    for (unsigned i : {0u, 1u, 2u})
      if (!expect.pcrs.count(i)) throw Error("expected PCRs must include PCR0, PCR1 and PCR2 (PCR" + std::to_string(i) + " missing)");
    attest::VerifyOptions opts;
    opts.trusted_roots = roots_from_pem(expect.root_pem);
    opts.time_source = attest::TimeSource::kNow;
    for (const auto& [i, hex] : expect.pcrs) opts.policy.pcrs[i] = from_hex(hex, "expected PCR" + std::to_string(i));
    opts.policy.max_age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(expect.max_age).count();
    ossl::PkeyPtr op_key = load_operator_key(key.private_key_pem);

    ctx_ = make_client_ctx();
    ch_ = std::make_unique<Channel>(ctx_.get(), std::move(stream), Channel::Role::kClient, "enclave agent", 30'000);
    Hello hello;
    if (RAND_bytes(hello.nonce.data(), kNonceSize) != 1) throw Error("RAND_bytes failed");
    ch_->send(FrameType::kHello, encode_hello(hello));
    auto f = ch_->recv(30'000);
    if (!f) throw Error("the agent closed the connection before sending its attestation");
    if (f->type == FrameType::kError) throw_remote(*f, "handshake");
    if (f->type != FrameType::kAttestation)
      throw Error("expected ATTESTATION, got " + frame_type_name(static_cast<std::uint8_t>(f->type)));
    const Bytes document = std::move(f->payload);

    // Verify before sending anything else.
    const Bytes tls_spki = ch_->peer_spki();
    if (tls_spki.empty()) throw Error("attestation refused: the agent presented no TLS certificate");
    opts.policy.nonce = Bytes(hello.nonce.begin(), hello.nonce.end());
    opts.policy.public_key = tls_spki;
    const attest::VerifyResult r = attest::verify_attestation(document, opts);
    if (!r.ok()) throw Error("attestation refused: " + explain(r, opts.policy));
    const auto& doc = *r.document;
    if (!doc.user_data || doc.user_data->size() != 32)
      throw Error("attestation refused: user_data must hold the agent's 32-byte challenge");

    Auth auth;
    auth.spki = ossl::public_key_to_der(op_key.get());
    auth.signature = sign(op_key.get(), auth_message(document, *doc.user_data));
    ch_->send(FrameType::kAuth, encode_auth(auth));
    auto ok = ch_->recv(30'000);
    if (!ok) throw Error("the agent closed the connection during authentication");
    if (ok->type == FrameType::kError) throw_remote(*ok, "authentication");
    if (ok->type != FrameType::kAuthOk)
      throw Error("expected AUTH_OK, got " + frame_type_name(static_cast<std::uint8_t>(ok->type)));

    for (const auto& [i, v] : doc.pcrs) peer_.pcrs[i] = to_hex(v);
    peer_.module_id = doc.module_id;
    peer_.timestamp_ms = doc.timestamp_ms;
    peer_.public_key_sha256 = to_hex(digest(HashAlgo::kSha256, tls_spki));
    peer_.document = document;
  }

  const PeerInfo& peer() const override { return peer_; }

  int exec(const ExecRequest& request, const ExecIo& io) override {
    usable();
    ExecSpec spec{request.argv, request.env, request.cwd, request.tty, request.stdin_open, 0, 0};
    if (request.tty && io.winsize_fd >= 0) {
      winsize ws{};
      if (::ioctl(io.winsize_fd, TIOCGWINSZ, &ws) == 0) {
        spec.rows = ws.ws_row;
        spec.cols = ws.ws_col;
      }
    }
    ch_->send(FrameType::kExec, encode_exec(spec));
    // stdin: an fd we poll, or read_stdin on a helper thread feeding a pipe.
    int in_fd = -1;
    UniqueFd pipe_r;
    std::thread feeder;
    if (request.stdin_open) {
      if (io.stdin_fd >= 0) {
        in_fd = io.stdin_fd;
      } else if (io.read_stdin) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe", "stdin");
        pipe_r.reset(p[0]);
        in_fd = p[0];
        feeder = std::thread([w = p[1], &io] {
          std::vector<std::uint8_t> buf(256 * 1024);
          for (;;) {
            const std::size_t n = io.read_stdin(buf.data(), buf.size());
            if (n == 0) break;
            try {
              write_all(w, std::span<const std::uint8_t>(buf.data(), n), "stdin pipe");
            } catch (const Error&) {
              break;
            }
          }
          ::close(w);
        });
      } else {
        ch_->send(FrameType::kStdin);
      }
    }
    struct Join {
      std::thread& t;
      UniqueFd& r;
      ~Join() {
        r.reset();  // a feeder blocked on a full pipe gets EPIPE
        if (t.joinable()) t.join();
      }
    } join{feeder, pipe_r};
    std::vector<std::uint8_t> buf(256 * 1024);
    for (;;) {
      while (auto f = ch_->try_recv()) {
        switch (f->type) {
          case FrameType::kStdout:
            if (io.on_stdout) io.on_stdout(f->payload.data(), f->payload.size());
            break;
          case FrameType::kStderr:
            if (io.on_stderr) io.on_stderr(f->payload.data(), f->payload.size());
            break;
          case FrameType::kExit: return decode_exit(f->payload);
          case FrameType::kError: throw_remote(*f, "exec " + request.argv.at(0));
          default: broken("unexpected " + frame_type_name(static_cast<std::uint8_t>(f->type)) + " during exec");
        }
      }
      if (ch_->peer_closed()) broken("the agent closed the connection during exec");
      pollfd fds[3];
      nfds_t n = 0;
      fds[n++] = {ch_->fd(), POLLIN, 0};
      const nfds_t in_i = n;
      if (in_fd >= 0) fds[n++] = {in_fd, POLLIN, 0};
      const nfds_t sig_i = n;
      if (io.signal_fd >= 0) fds[n++] = {io.signal_fd, POLLIN, 0};
      if (::poll(fds, n, ch_->has_buffered() ? 0 : -1) < 0) {
        if (errno == EINTR) continue;
        throw_errno("poll", "exec");
      }
      if (in_fd >= 0 && fds[in_i].revents) {
        const ssize_t r = ::read(in_fd, buf.data(), buf.size());
        if (r > 0) {
          ch_->send(FrameType::kStdin, std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(r)));
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          ch_->send(FrameType::kStdin);
          in_fd = -1;
        }
      }
      if (io.signal_fd >= 0 && fds[sig_i].revents) forward_signal(io, request.tty);
    }
  }

  void copy_in(const std::filesystem::path& local, const std::string& remote) override {
    usable();
    std::string root = local.lexically_normal().filename().string();
    if (root.empty() || root == "." || root == "..") root = std::filesystem::absolute(local).lexically_normal().filename().string();
    if (root.empty()) root = std::filesystem::weakly_canonical(local).filename().string();
    if (root.empty()) throw Error("cannot copy " + local.string() + ": it has no name");
    ch_->send(FrameType::kCpIn, encode_path_request("dest", remote));
    auto ready = expect_reply("copy to " + remote);
    (void)ready;
    struct Aborted {
      Frame f;
    };
    try {
      write_tar(local, root, [&](std::span<const std::uint8_t> chunk) {
        ch_->send(FrameType::kData, chunk);
        if (auto f = ch_->try_recv()) throw Aborted{std::move(*f)};
      });
    } catch (Aborted& a) {
      ch_->send(FrameType::kDataEnd);
      if (a.f.type == FrameType::kError) throw_remote(a.f, "copy to " + remote);
      broken("unexpected " + frame_type_name(static_cast<std::uint8_t>(a.f.type)) + " during copy");
    } catch (const Error& e) {
      // A local failure: tell the agent, which then discards what it got.
      ch_->send(FrameType::kError, encode_error({ErrorCode::kFailed, e.what()}));
      throw;
    }
    ch_->send(FrameType::kDataEnd);
    expect_reply("copy to " + remote);
  }

  void copy_in_archive(int tar_fd, const std::string& remote) override {
    usable();
    ch_->send(FrameType::kCpIn, encode_path_request("dest", remote));
    expect_reply("copy to " + remote);
    std::vector<std::uint8_t> buf(kTarChunk);
    for (;;) {
      std::size_t n = 0;
      try {
        n = read_some(tar_fd, buf, "tar stream");
      } catch (const Error& e) {
        ch_->send(FrameType::kError, encode_error({ErrorCode::kFailed, e.what()}));
        throw;
      }
      if (n == 0) break;
      ch_->send(FrameType::kData, std::span<const std::uint8_t>(buf.data(), n));
      if (auto f = ch_->try_recv()) {
        ch_->send(FrameType::kDataEnd);
        if (f->type == FrameType::kError) throw_remote(*f, "copy to " + remote);
        broken("unexpected " + frame_type_name(static_cast<std::uint8_t>(f->type)) + " during copy");
      }
    }
    ch_->send(FrameType::kDataEnd);
    expect_reply("copy to " + remote);
  }

  void copy_out(const std::string& remote, const std::filesystem::path& local) override {
    usable();
    ch_->send(FrameType::kCpOut, encode_path_request("src", remote));
    expect_reply("copy from " + remote);
    bool ended = false;
    Bytes current;
    auto source = [&]() -> std::span<const std::uint8_t> {
      if (ended) return {};
      auto f = ch_->recv();
      if (!f) broken("the agent closed the connection during the copy");
      if (f->type == FrameType::kDataEnd) {
        ended = true;
        return {};
      }
      if (f->type == FrameType::kError) {
        ended = true;
        throw_remote(*f, "copy from " + remote);
      }
      if (f->type != FrameType::kData) broken("unexpected " + frame_type_name(static_cast<std::uint8_t>(f->type)));
      current = std::move(f->payload);
      return current;
    };
    try {
      extract_tar(source, local);
    } catch (const Error&) {
      // Keep the stream in step for the next request: skip to its end.
      try {
        while (!ended) source();
      } catch (const Error&) {
      }
      throw;
    }
  }

  void logs(const std::string& service, bool follow, const std::function<bool(const std::string&)>& on_line) override {
    usable();
    ch_->send(FrameType::kLogs, encode_logs({service, follow}));
    bool wanted = true;
    for (;;) {
      auto f = ch_->recv();
      if (!f) broken("the agent closed the connection while sending logs");
      if (f->type == FrameType::kOk) return;
      if (f->type == FrameType::kError) throw_remote(*f, "logs");
      if (f->type != FrameType::kLog) broken("unexpected " + frame_type_name(static_cast<std::uint8_t>(f->type)) + " in logs");
      if (!wanted) continue;
      const LogChunk c = decode_log(f->payload);
      std::size_t pos = 0;
      while (wanted && pos < c.lines.size()) {
        std::size_t nl = c.lines.find('\n', pos);
        if (nl == std::string::npos) nl = c.lines.size();
        std::string line = c.lines.substr(pos, nl - pos);
        if (service.empty()) line = c.service + ": " + line;
        wanted = on_line(line);
        pos = nl + 1;
      }
      if (!wanted) {
        if (!follow) continue;
        ch_->send(FrameType::kCancel);
      }
    }
  }

  void put_secret(const std::string& name, const std::vector<std::uint8_t>& value) override {
    usable();
    validate_secret_name(name);
    if (value.size() + name.size() + 2 > kMaxPayload) throw Error("secret " + name + " is larger than one frame (1 MiB)");
    Bytes payload = encode_secret_put({name, value});
    ch_->send(FrameType::kSecretPut, payload);
    OPENSSL_cleanse(payload.data(), payload.size());
    expect_reply("secret put " + name);
  }

 private:
  static std::string explain(const attest::VerifyResult& r, const attest::Policy& p) {
    std::string out;
    for (const auto& c : r.checks) {
      if (c.ok) continue;
      if (c.name == "pcrs" && r.document) {
        for (const auto& [i, want] : p.pcrs) {
          auto it = r.document->pcrs.find(i);
          const std::string have = it == r.document->pcrs.end() ? "nothing" : to_hex(it->second);
          if (it == r.document->pcrs.end() || it->second != want)
            out += (out.empty() ? "" : "; ") + std::string("PCR") + std::to_string(i) + " mismatch: expected " +
                   to_hex(want) + ", enclave reports " + have;
        }
        continue;
      }
      if (c.name == "public_key") {
        out += (out.empty() ? "" : "; ") +
               std::string("public_key: the document does not bind the TLS key the agent presented (") + c.detail + ")";
        continue;
      }
      out += (out.empty() ? "" : "; ") + c.name + ": " + c.detail;
    }
    return out;
  }

  void forward_signal(const ExecIo& io, bool tty) {
    signalfd_siginfo si{};
    if (::read(io.signal_fd, &si, sizeof si) != sizeof si) return;
    if (si.ssi_signo == SIGWINCH) {
      winsize ws{};
      if (tty && io.winsize_fd >= 0 && ::ioctl(io.winsize_fd, TIOCGWINSZ, &ws) == 0)
        ch_->send(FrameType::kWinch, encode_winch(ws.ws_row, ws.ws_col));
      return;
    }
    ch_->send(FrameType::kSignal, encode_signal(static_cast<std::uint8_t>(si.ssi_signo)));
  }

  Frame expect_reply(const std::string& doing) {
    auto f = ch_->recv();
    if (!f) broken("the agent closed the connection (" + doing + ")");
    if (f->type == FrameType::kError) throw_remote(*f, doing);
    if (f->type != FrameType::kOk) broken("expected OK, got " + frame_type_name(static_cast<std::uint8_t>(f->type)));
    return std::move(*f);
  }

  void usable() const {
    if (broken_) throw Error("this agent connection is unusable after an earlier protocol failure");
  }
  [[noreturn]] void broken(const std::string& why) {
    broken_ = true;
    throw Error(why);
  }

  SslCtxPtr ctx_;
  std::unique_ptr<Channel> ch_;
  PeerInfo peer_;
  bool broken_ = false;
};

}  // namespace

std::map<unsigned, std::string> load_expected_pcrs(const std::filesystem::path& file) {
  std::map<unsigned, std::string> out;
  for (const auto& [i, v] : attest::parse_expected_pcrs(read_text_file(file), file.string())) out[i] = to_hex(v);
  return out;
}

std::unique_ptr<Client> Client::connect(UniqueFd stream, const Expectations& expect, const OperatorKey& key) {
  return std::make_unique<ClientImpl>(std::move(stream), expect, key);
}

}  // namespace ef::agent
