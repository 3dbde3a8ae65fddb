#include "attest/nsm_protocol.h"

#include "attest/cbor.h"

namespace ef::nsm {
namespace {

using cbor::Value;

constexpr std::string_view kErrorNames[] = {"Success",          "InvalidArgument", "InvalidIndex",
                                            "InvalidResponse",  "ReadOnlyIndex",   "InvalidOperation",
                                            "BufferTooSmall",   "InputTooLarge",   "InternalError"};

/// {"Name": {fields...}}
Value variant(std::string_view name, Value::Map fields) {
  return Value::map({{Value::text(name), Value::map(std::move(fields))}});
}

Value opt_bytes(const std::optional<Bytes>& b) { return b ? Value::bytes(*b) : Value::null(); }

class Reader {
 public:
  Reader(std::string_view input) : input_(input) {}
  [[noreturn]] void fail(const std::string& what) const { throw FormatError(input_, 0, what); }

  /// The variant name and its body (null for a unit variant).
  std::pair<std::string, Value> split(const Value& v) const {
    if (v.is_text()) return {v.as_text(), Value::null()};
    if (v.is_map() && v.as_map().size() == 1 && v.as_map()[0].first.is_text())
      return {v.as_map()[0].first.as_text(), v.as_map()[0].second};
    fail("expected a text string or a one-entry map naming the variant, found " + cbor::brief(v));
  }
  const Value& field(const Value& body, std::string_view name) const {
    if (!body.is_map()) fail("variant body is not a map");
    const Value* v = body.find(name);
    if (!v) fail("missing field \"" + std::string(name) + "\"");
    return *v;
  }
  std::uint16_t u16(const Value& body, std::string_view name) const {
    const Value& v = field(body, name);
    if (!v.is_unsigned() || v.as_uint() > 0xffff) fail("field \"" + std::string(name) + "\" is not a u16");
    return static_cast<std::uint16_t>(v.as_uint());
  }
  Bytes bytes(const Value& body, std::string_view name) const {
    const Value& v = field(body, name);
    if (!v.is_bytes()) fail("field \"" + std::string(name) + "\" is not a byte string");
    return v.as_bytes();
  }
  std::optional<Bytes> opt_bytes_field(const Value& body, std::string_view name) const {
    if (!body.is_map()) fail("variant body is not a map");
    const Value* v = body.find(name);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_bytes()) fail("field \"" + std::string(name) + "\" is not a byte string or null");
    return v->as_bytes();
  }
  std::string text(const Value& body, std::string_view name) const {
    const Value& v = field(body, name);
    if (!v.is_text()) fail("field \"" + std::string(name) + "\" is not a text string");
    return v.as_text();
  }
  void unit(const Value& body, const std::string& name) const {
    if (!body.is_null()) fail("variant " + name + " carries data");
  }

 private:
  std::string_view input_;
};

cbor::DecodeLimits protocol_limits() {
  cbor::DecodeLimits l;
  l.max_depth = 8;
  l.max_items = 4096;
  l.max_string = kMaxResponseSize;
  return l;
}

}  // namespace

std::string_view error_code_name(ErrorCode code) { return kErrorNames[static_cast<int>(code)]; }

NsmError::NsmError(ErrorCode code, const std::string& context)
    : Error(context + ": NSM error " + std::string(error_code_name(code))), code_(code) {}

std::string_view request_name(const Request& request) {
  static constexpr std::string_view kNames[] = {"DescribePCR", "ExtendPCR",   "LockPCR",  "LockPCRs",
                                                "DescribeNSM", "Attestation", "GetRandom"};
  return kNames[request.index()];
}

Bytes encode_request(const Request& request) {
  struct Visitor {
    Value operator()(const req::DescribePcr& r) const {
      return variant("DescribePCR", {{Value::text("index"), Value::unsigned_int(r.index)}});
    }
    Value operator()(const req::ExtendPcr& r) const {
      return variant("ExtendPCR",
                     {{Value::text("index"), Value::unsigned_int(r.index)}, {Value::text("data"), Value::bytes(r.data)}});
    }
    Value operator()(const req::LockPcr& r) const {
      return variant("LockPCR", {{Value::text("index"), Value::unsigned_int(r.index)}});
    }
    Value operator()(const req::LockPcrs& r) const {
      return variant("LockPCRs", {{Value::text("range"), Value::unsigned_int(r.range)}});
    }
    Value operator()(const req::DescribeNsm&) const { return Value::text("DescribeNSM"); }
    Value operator()(const req::Attestation& r) const {
      return variant("Attestation", {{Value::text("user_data"), opt_bytes(r.user_data)},
                                     {Value::text("nonce"), opt_bytes(r.nonce)},
                                     {Value::text("public_key"), opt_bytes(r.public_key)}});
    }
    Value operator()(const req::GetRandom&) const { return Value::text("GetRandom"); }
  };
  return cbor::encode(std::visit(Visitor{}, request));
}

Request decode_request(std::span<const std::uint8_t> data) {
  Reader rd("NSM request");
  const auto [name, body] = rd.split(cbor::decode(data, protocol_limits(), "NSM request"));
  if (name == "DescribePCR") return req::DescribePcr{rd.u16(body, "index")};
  if (name == "ExtendPCR") return req::ExtendPcr{rd.u16(body, "index"), rd.bytes(body, "data")};
  if (name == "LockPCR") return req::LockPcr{rd.u16(body, "index")};
  if (name == "LockPCRs") return req::LockPcrs{rd.u16(body, "range")};
  if (name == "DescribeNSM") return rd.unit(body, name), req::DescribeNsm{};
  if (name == "GetRandom") return rd.unit(body, name), req::GetRandom{};
  if (name == "Attestation")
    return req::Attestation{rd.opt_bytes_field(body, "user_data"), rd.opt_bytes_field(body, "nonce"),
                            rd.opt_bytes_field(body, "public_key")};
  rd.fail("unknown request \"" + name + "\"");
}

Bytes encode_response(const Response& response) {
  struct Visitor {
    Value operator()(const resp::DescribePcr& r) const {
      return variant("DescribePCR", {{Value::text("lock"), Value::boolean(r.lock)}, {Value::text("data"), Value::bytes(r.data)}});
    }
    Value operator()(const resp::ExtendPcr& r) const { return variant("ExtendPCR", {{Value::text("data"), Value::bytes(r.data)}}); }
    Value operator()(const resp::LockPcr&) const { return Value::text("LockPCR"); }
    Value operator()(const resp::LockPcrs&) const { return Value::text("LockPCRs"); }
    Value operator()(const resp::DescribeNsm& r) const {
      Value locked = Value::array();
      for (std::uint16_t i : r.locked_pcrs) locked.push(Value::unsigned_int(i));
      return variant("DescribeNSM", {{Value::text("version_major"), Value::unsigned_int(r.version_major)},
                                     {Value::text("version_minor"), Value::unsigned_int(r.version_minor)},
                                     {Value::text("version_patch"), Value::unsigned_int(r.version_patch)},
                                     {Value::text("module_id"), Value::text(r.module_id)},
                                     {Value::text("max_pcrs"), Value::unsigned_int(r.max_pcrs)},
                                     {Value::text("locked_pcrs"), std::move(locked)},
                                     {Value::text("digest"), Value::text(r.digest)}});
    }
    Value operator()(const resp::Attestation& r) const {
      return variant("Attestation", {{Value::text("document"), Value::bytes(r.document)}});
    }
    Value operator()(const resp::GetRandom& r) const { return variant("GetRandom", {{Value::text("random"), Value::bytes(r.random)}}); }
    Value operator()(const resp::Error& r) const {
      return Value::map({{Value::text("Error"), Value::text(error_code_name(r.code))}});
    }
  };
  return cbor::encode(std::visit(Visitor{}, response));
}

Response decode_response(std::span<const std::uint8_t> data) {
  Reader rd("NSM response");
  const auto [name, body] = rd.split(cbor::decode(data, protocol_limits(), "NSM response"));
  if (name == "DescribePCR") {
    const Value& lock = rd.field(body, "lock");
    if (!lock.is_bool()) rd.fail("field \"lock\" is not a boolean");
    return resp::DescribePcr{lock.as_bool(), rd.bytes(body, "data")};
  }
  if (name == "ExtendPCR") return resp::ExtendPcr{rd.bytes(body, "data")};
  if (name == "LockPCR") return rd.unit(body, name), resp::LockPcr{};
  if (name == "LockPCRs") return rd.unit(body, name), resp::LockPcrs{};
  if (name == "Attestation") return resp::Attestation{rd.bytes(body, "document")};
  if (name == "GetRandom") return resp::GetRandom{rd.bytes(body, "random")};
  if (name == "DescribeNSM") {
    resp::DescribeNsm d;
    d.version_major = rd.u16(body, "version_major");
    d.version_minor = rd.u16(body, "version_minor");
    d.version_patch = rd.u16(body, "version_patch");
    d.module_id = rd.text(body, "module_id");
    d.max_pcrs = rd.u16(body, "max_pcrs");
    const Value& locked = rd.field(body, "locked_pcrs");
    if (!locked.is_array()) rd.fail("field \"locked_pcrs\" is not an array");
    for (const Value& i : locked.as_array()) {
      if (!i.is_unsigned() || i.as_uint() > 0xffff) rd.fail("locked_pcrs entry is not a u16");
      d.locked_pcrs.push_back(static_cast<std::uint16_t>(i.as_uint()));
    }
    d.digest = rd.text(body, "digest");
    return d;
  }
  if (name == "Error") {
    if (!body.is_text()) rd.fail("Error does not carry an error code name");
    for (std::size_t i = 0; i < std::size(kErrorNames); ++i)
      if (body.as_text() == kErrorNames[i]) return resp::Error{static_cast<ErrorCode>(i)};
    rd.fail("unknown error code \"" + body.as_text() + "\"");
  }
  rd.fail("unknown response \"" + name + "\"");
}

}  // namespace ef::nsm
