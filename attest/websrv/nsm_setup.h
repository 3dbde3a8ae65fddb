#pragma once
// Chooses the NSM from the configuration: /dev/nsm, or the simulated module with
// its dev CA (nsm.state_dir), or `auto` (the device when present).

#include <memory>
#include <mutex>
#include <vector>

#include "attest/nsm.h"
#include "attest/websrv/config.h"

namespace ef::websrv {

struct NsmSetup {
  std::unique_ptr<nsm::NsmDevice> device;  ///< thread-safe
  bool simulated = false;
  std::vector<std::uint8_t> dev_root_der;  ///< the simulated module's root (empty for the device)
};

/// Opens the configured module. `simulated` loads or creates the dev CA in
/// state_dir (0700) and reads state_dir/pcrs.json when present (else all-zero
/// boot PCRs); `auto` picks the device when `nsm.device` exists and warns loudly
/// otherwise. Throws ef::Error.
NsmSetup open_nsm(const Config& config);

/// Serialises calls to a device that is not thread-safe (the /dev/nsm client).
class LockedNsm : public nsm::NsmDevice {
  using Bytes = nsm::Bytes;

 public:
  explicit LockedNsm(std::unique_ptr<nsm::NsmDevice> inner) : inner_(std::move(inner)) {}
  Bytes attestation(const nsm::req::Attestation& r) override { std::lock_guard l(mu_); return inner_->attestation(r); }
  nsm::resp::DescribePcr describe_pcr(std::uint16_t i) override { std::lock_guard l(mu_); return inner_->describe_pcr(i); }
  Bytes extend_pcr(std::uint16_t i, std::span<const std::uint8_t> d) override { std::lock_guard l(mu_); return inner_->extend_pcr(i, d); }
  void lock_pcr(std::uint16_t i) override { std::lock_guard l(mu_); inner_->lock_pcr(i); }
  void lock_pcrs(std::uint16_t r) override { std::lock_guard l(mu_); inner_->lock_pcrs(r); }
  nsm::resp::DescribeNsm describe_nsm() override { std::lock_guard l(mu_); return inner_->describe_nsm(); }
  Bytes get_random() override { std::lock_guard l(mu_); return inner_->get_random(); }

 private:
  std::mutex mu_;
  std::unique_ptr<nsm::NsmDevice> inner_;
};

}  // namespace ef::websrv
