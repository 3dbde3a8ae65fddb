#pragma once
// The Nitro Secure Module behind one interface: the real /dev/nsm (NsmClient over
// DevNsmTransport), or the simulated module (sim_nsm.h) for local mode and tests.

#include <memory>
#include <span>

#include "attest/nsm_protocol.h"
#include "base/fd.h"

namespace ef::nsm {

/// The module's operations. Failures throw NsmError with the module's code.
class NsmDevice {
 public:
  virtual ~NsmDevice() = default;
  /// A signed attestation document (COSE_Sign1 bytes). Sizes: user_data and
  /// nonce up to 512 bytes, public_key up to 1024 (else kInputTooLarge).
  virtual Bytes attestation(const req::Attestation& request) = 0;
  virtual resp::DescribePcr describe_pcr(std::uint16_t index) = 0;
  /// PCR[index] = SHA384(PCR[index] || data); returns the new value.
  virtual Bytes extend_pcr(std::uint16_t index, std::span<const std::uint8_t> data) = 0;
  virtual void lock_pcr(std::uint16_t index) = 0;
  /// Locks PCRs [0, range).
  virtual void lock_pcrs(std::uint16_t range) = 0;
  virtual resp::DescribeNsm describe_nsm() = 0;
  virtual Bytes get_random() = 0;
};

/// Moves one encoded request to the module and returns its encoded response.
class NsmTransport {
 public:
  virtual ~NsmTransport() = default;
  virtual Bytes exchange(std::span<const std::uint8_t> request) = 0;
};

/// The /dev/nsm driver: ioctl(fd, _IOWR(0x0A, 0, struct nsm_message), ...) with
/// struct nsm_message { struct iovec request; struct iovec response; }.
class DevNsmTransport : public NsmTransport {
 public:
  /// Opens the device (O_RDWR | O_CLOEXEC); throws SysError.
  explicit DevNsmTransport(const char* path = "/dev/nsm");
  Bytes exchange(std::span<const std::uint8_t> request) override;

 private:
  UniqueFd fd_;
};

/// The client: encodes typed calls, checks sizes, decodes answers, maps errors.
class NsmClient : public NsmDevice {
 public:
  explicit NsmClient(std::unique_ptr<NsmTransport> transport);
  Bytes attestation(const req::Attestation& request) override;
  resp::DescribePcr describe_pcr(std::uint16_t index) override;
  Bytes extend_pcr(std::uint16_t index, std::span<const std::uint8_t> data) override;
  void lock_pcr(std::uint16_t index) override;
  void lock_pcrs(std::uint16_t range) override;
  resp::DescribeNsm describe_nsm() override;
  Bytes get_random() override;

  /// One round trip; throws NsmError for an Error response or a request over 4 KiB.
  Response call(const Request& request);

 private:
  template <typename T>
  T expect(const Request& request);
  std::unique_ptr<NsmTransport> transport_;
};

/// Module side: runs `request` on `device`; NsmError becomes an Error response.
Response serve(NsmDevice& device, const Request& request);
/// The same on encoded bytes (an undecodable request answers InvalidArgument);
/// a response over the driver's 12 KiB answers BufferTooSmall.
Bytes serve_bytes(NsmDevice& device, std::span<const std::uint8_t> request);

/// A transport that hands requests to an in-process device through the byte
/// encoding, as the driver would: the client's encoding meets the module's decoding.
class LoopbackTransport : public NsmTransport {
 public:
  explicit LoopbackTransport(NsmDevice& device) : device_(device) {}
  Bytes exchange(std::span<const std::uint8_t> request) override { return serve_bytes(device_, request); }

 private:
  NsmDevice& device_;
};

/// Checks an attestation request's sizes as the module does (throws NsmError kInputTooLarge).
void check_attestation_sizes(const req::Attestation& request);

}  // namespace ef::nsm
