#include "attest/nsm.h"

namespace ef::nsm {

NsmClient::NsmClient(std::unique_ptr<NsmTransport> transport) : transport_(std::move(transport)) {}

Response NsmClient::call(const Request& request) {
  const std::string what = "NSM " + std::string(request_name(request));
  const Bytes encoded = encode_request(request);
  if (encoded.size() > kMaxRequestSize) throw NsmError(ErrorCode::kInputTooLarge, what);
  const Bytes answer = transport_->exchange(encoded);
  Response r;
  try {
    r = decode_response(answer);
  } catch (const Error& e) {
    throw NsmError(ErrorCode::kInvalidResponse, what + ": " + e.what());
  }
  if (const auto* err = std::get_if<resp::Error>(&r)) throw NsmError(err->code, what);
  return r;
}

template <typename T>
T NsmClient::expect(const Request& request) {
  Response r = call(request);
  if (auto* v = std::get_if<T>(&r)) return std::move(*v);
  throw NsmError(ErrorCode::kInvalidResponse, "NSM " + std::string(request_name(request)) + ": answer of another kind");
}

Bytes NsmClient::attestation(const req::Attestation& request) {
  check_attestation_sizes(request);
  return expect<resp::Attestation>(request).document;
}

resp::DescribePcr NsmClient::describe_pcr(std::uint16_t index) { return expect<resp::DescribePcr>(req::DescribePcr{index}); }

Bytes NsmClient::extend_pcr(std::uint16_t index, std::span<const std::uint8_t> data) {
  return expect<resp::ExtendPcr>(req::ExtendPcr{index, Bytes(data.begin(), data.end())}).data;
}

void NsmClient::lock_pcr(std::uint16_t index) { expect<resp::LockPcr>(req::LockPcr{index}); }
void NsmClient::lock_pcrs(std::uint16_t range) { expect<resp::LockPcrs>(req::LockPcrs{range}); }
resp::DescribeNsm NsmClient::describe_nsm() { return expect<resp::DescribeNsm>(req::DescribeNsm{}); }
Bytes NsmClient::get_random() { return expect<resp::GetRandom>(req::GetRandom{}).random; }

void check_attestation_sizes(const req::Attestation& r) {
  auto check = [](const std::optional<Bytes>& b, std::size_t max, const char* name) {
    if (b && b->size() > max)
      throw NsmError(ErrorCode::kInputTooLarge, std::string("NSM Attestation: ") + name + " of " +
                                                    std::to_string(b->size()) + " bytes exceeds " + std::to_string(max));
  };
  check(r.user_data, kMaxUserDataSize, "user_data");
  check(r.nonce, kMaxNonceSize, "nonce");
  check(r.public_key, kMaxPublicKeySize, "public_key");
}

Response serve(NsmDevice& device, const Request& request) {
  struct Visitor {
    NsmDevice& d;
    Response operator()(const req::DescribePcr& r) { return d.describe_pcr(r.index); }
    Response operator()(const req::ExtendPcr& r) { return resp::ExtendPcr{d.extend_pcr(r.index, r.data)}; }
    Response operator()(const req::LockPcr& r) { return d.lock_pcr(r.index), resp::LockPcr{}; }
    Response operator()(const req::LockPcrs& r) { return d.lock_pcrs(r.range), resp::LockPcrs{}; }
    Response operator()(const req::DescribeNsm&) { return d.describe_nsm(); }
    Response operator()(const req::Attestation& r) { return resp::Attestation{d.attestation(r)}; }
    Response operator()(const req::GetRandom&) { return resp::GetRandom{d.get_random()}; }
  };
  try {
    return std::visit(Visitor{device}, request);
  } catch (const NsmError& e) {
    return resp::Error{e.code()};
  }
}

Bytes serve_bytes(NsmDevice& device, std::span<const std::uint8_t> request) {
  if (request.size() > kMaxRequestSize) return encode_response(resp::Error{ErrorCode::kInputTooLarge});
  Request decoded;
  try {
    decoded = decode_request(request);
  } catch (const FormatError&) {
    return encode_response(resp::Error{ErrorCode::kInvalidArgument});
  }
  Bytes out = encode_response(serve(device, decoded));
  if (out.size() > kMaxResponseSize) return encode_response(resp::Error{ErrorCode::kBufferTooSmall});
  return out;
}

}  // namespace ef::nsm
