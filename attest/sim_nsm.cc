#include "attest/sim_nsm.h"

#include <openssl/rand.h>

#include "attest/cose.h"
#include "attest/document.h"
#include "attest/timefmt.h"
#include "attest/verify.h"
#include "base/error.h"
#include "base/hash.h"

namespace ef::attest {

using nsm::ErrorCode;
using nsm::NsmError;

std::map<std::uint16_t, Bytes> load_boot_pcrs(std::string_view text, std::string_view source) {
  std::map<std::uint16_t, Bytes> out;
  for (auto& [index, value] : parse_expected_pcrs(text, source)) {
    if (value.size() != 48)
      throw Error(std::string(source) + ": PCR" + std::to_string(index) + " has " + std::to_string(value.size()) +
                  " bytes; the simulated NSM uses SHA-384 (48)");
    out[static_cast<std::uint16_t>(index)] = std::move(value);
  }
  return out;
}

std::map<std::uint16_t, Bytes> boot_pcrs_from_cmdline(std::string_view cmdline, std::string_view source) {
  std::map<std::uint16_t, Bytes> out;
  std::size_t pos = 0;
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  while (pos < cmdline.size()) {
    while (pos < cmdline.size() && is_space(cmdline[pos])) ++pos;
    std::size_t end = pos;
    while (end < cmdline.size() && !is_space(cmdline[end])) ++end;
    const std::string_view word = cmdline.substr(pos, end - pos);
    const std::string where = std::string(source) + ": byte " + std::to_string(pos) + ": ";
    if (word.rfind("ef.pcr", 0) == 0) {
      const auto eq = word.find('=');
      const std::string_view index_text = word.substr(6, eq == std::string_view::npos ? std::string_view::npos : eq - 6);
      if (eq == std::string_view::npos || (index_text != "0" && index_text != "1" && index_text != "2"))
        throw Error(where + "\"" + std::string(word.substr(0, 16)) + "\": expected ef.pcr0=, ef.pcr1= or ef.pcr2=");
      const auto index = static_cast<std::uint16_t>(index_text[0] - '0');
      const std::string_view hex = word.substr(eq + 1);
      if (hex.size() != 96)
        throw Error(where + "ef.pcr" + std::string(index_text) + " has " + std::to_string(hex.size()) +
                    " hex digits; expected 96 (SHA-384)");
      if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
        throw Error(where + "ef.pcr" + std::string(index_text) + " holds a non-hex digit");
      if (out.count(index)) throw Error(where + "ef.pcr" + std::string(index_text) + " given twice");
      out[index] = from_hex(hex);
    }
    pos = end;
  }
  if (!out.empty() && out.size() != 3) {
    std::string missing;
    for (std::uint16_t i = 0; i < 3; ++i)
      if (!out.count(i)) missing += (missing.empty() ? "ef.pcr" : ", ef.pcr") + std::to_string(i);
    throw Error(std::string(source) + ": " + missing + " missing (give ef.pcr0, ef.pcr1 and ef.pcr2 together)");
  }
  return out;
}

SimulatedNsm::SimulatedNsm(DevCa ca, const std::map<std::uint16_t, Bytes>& boot_pcrs, SimNsmOptions options)
    : ca_(std::move(ca)), options_(std::move(options)) {
  if (!options_.clock) options_.clock = now_ms;
  for (const auto& [index, value] : boot_pcrs) {
    if (index >= nsm::kMaxPcrs || value.size() != 48)
      throw Error("simulated NSM: boot PCR" + std::to_string(index) + " must be an index below 32 with 48 bytes");
    pcrs_[index].value = value;
  }
  for (std::uint16_t i = 0; i < 16; ++i) pcrs_[i].locked = true;
  rotate_leaf_if_needed(options_.clock());
}

void SimulatedNsm::check_index(std::uint16_t index) const {
  if (index >= nsm::kMaxPcrs) throw NsmError(ErrorCode::kInvalidIndex, "PCR" + std::to_string(index));
}

void SimulatedNsm::rotate_leaf_if_needed(std::int64_t now) {
  if (leaf_.cert && leaf_not_after_ms_ - now > options_.leaf_lifetime_ms / 10) return;
  leaf_ = issue_leaf(ca_, options_.module_id + ".sim.nitro-enclaves", now, options_.leaf_lifetime_ms);
  leaf_not_after_ms_ = now + options_.leaf_lifetime_ms;
}

Bytes SimulatedNsm::attestation(const nsm::req::Attestation& request) {
  nsm::check_attestation_sizes(request);
  if (request.public_key && request.public_key->empty())
    throw NsmError(ErrorCode::kInvalidArgument, "NSM Attestation: empty public_key");
  std::lock_guard lock(mu_);
  const std::int64_t now = options_.clock();
  rotate_leaf_if_needed(now);
  AttestationDocument doc;
  doc.module_id = options_.module_id;
  doc.digest = "SHA384";
  doc.timestamp_ms = static_cast<std::uint64_t>(now);
  for (std::uint32_t i = 0; i < nsm::kMaxPcrs; ++i)
    if (pcrs_[i].locked) doc.pcrs[i] = pcrs_[i].value;
  doc.certificate = ossl::cert_to_der(leaf_.cert.get());
  doc.cabundle = {ossl::cert_to_der(ca_.root.get()), ossl::cert_to_der(ca_.intermediate.get())};
  doc.public_key = request.public_key;
  doc.user_data = request.user_data;
  doc.nonce = request.nonce;
  return cose::sign1(leaf_.key.get(), encode_document_payload(doc));
}

nsm::resp::DescribePcr SimulatedNsm::describe_pcr(std::uint16_t index) {
  check_index(index);
  std::lock_guard lock(mu_);
  return {pcrs_[index].locked, pcrs_[index].value};
}

Bytes SimulatedNsm::extend_pcr(std::uint16_t index, std::span<const std::uint8_t> data) {
  check_index(index);
  std::lock_guard lock(mu_);
  Pcr& pcr = pcrs_[index];
  if (pcr.locked) throw NsmError(ErrorCode::kReadOnlyIndex, "NSM ExtendPCR " + std::to_string(index));
  Hasher h(HashAlgo::kSha384);
  h.update(pcr.value);
  h.update(data);
  pcr.value = h.finish();
  return pcr.value;
}

void SimulatedNsm::lock_pcr(std::uint16_t index) {
  check_index(index);
  std::lock_guard lock(mu_);
  pcrs_[index].locked = true;
}

void SimulatedNsm::lock_pcrs(std::uint16_t range) {
  if (range > nsm::kMaxPcrs) throw NsmError(ErrorCode::kInvalidIndex, "NSM LockPCRs range " + std::to_string(range));
  std::lock_guard lock(mu_);
  for (std::uint16_t i = 0; i < range; ++i) pcrs_[i].locked = true;
}

nsm::resp::DescribeNsm SimulatedNsm::describe_nsm() {
  std::lock_guard lock(mu_);
  nsm::resp::DescribeNsm d;
  d.module_id = options_.module_id;
  for (std::uint16_t i = 0; i < nsm::kMaxPcrs; ++i)
    if (pcrs_[i].locked) d.locked_pcrs.push_back(i);
  return d;
}

Bytes SimulatedNsm::get_random() {
  Bytes out(256);
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) throw NsmError(ErrorCode::kInternalError, "NSM GetRandom");
  return out;
}

Bytes SimulatedNsm::root_der() const { return ossl::cert_to_der(ca_.root.get()); }

}  // namespace ef::attest
