#include "attest/document.h"

#include "base/error.h"

namespace ef::attest {
namespace {

using cbor::Value;

class FieldReader {
 public:
  FieldReader(const Value& map, std::string_view input) : map_(map), input_(input) {}

  [[noreturn]] void fail(const std::string& what) const { throw FormatError(input_, 0, what); }

  const Value& required(std::string_view key) const {
    const Value* v = map_.find(key);
    if (!v || v->is_null()) fail("missing mandatory field \"" + std::string(key) + "\"");
    return *v;
  }

  Bytes bytes(const Value& v, std::string_view key, std::size_t min, std::size_t max) const {
    if (!v.is_bytes()) fail(field(key) + " is a " + std::string(cbor::kind_name(v.kind())) + ", expected a byte string");
    const std::size_t n = v.as_bytes().size();
    if (n < min || n > max)
      fail(field(key) + " has " + std::to_string(n) + " bytes, expected " + std::to_string(min) + ".." +
           std::to_string(max));
    return v.as_bytes();
  }

  std::optional<Bytes> optional_bytes(std::string_view key, std::size_t min, std::size_t max) const {
    const Value* v = map_.find(key);
    if (!v || v->is_null()) return std::nullopt;
    return bytes(*v, key, min, max);
  }

  static std::string field(std::string_view key) { return "field \"" + std::string(key) + "\""; }

 private:
  const Value& map_;
  std::string_view input_;
};

std::map<std::uint32_t, Bytes> read_pcrs(const FieldReader& r, const Value& v) {
  if (!v.is_map()) r.fail("field \"pcrs\" is not a map");
  const auto& entries = v.as_map();
  if (entries.empty() || entries.size() > 32)
    r.fail("field \"pcrs\" has " + std::to_string(entries.size()) + " entries, expected 1..32");
  std::map<std::uint32_t, Bytes> out;
  for (const auto& [key, value] : entries) {
    if (!key.is_unsigned() || key.as_uint() >= 32) r.fail("PCR index " + cbor::brief(key) + " is not an integer 0..31");
    const auto index = static_cast<std::uint32_t>(key.as_uint());
    if (!value.is_bytes()) r.fail("PCR" + std::to_string(index) + " is not a byte string");
    const std::size_t n = value.as_bytes().size();
    if (n != 32 && n != 48 && n != 64)
      r.fail("PCR" + std::to_string(index) + " has " + std::to_string(n) + " bytes, expected 32, 48 or 64");
    out[index] = value.as_bytes();
  }
  return out;
}

}  // namespace

AttestationDocument parse_document_payload(std::span<const std::uint8_t> payload, std::string_view input_name) {
  if (payload.empty() || payload.size() > kMaxPayloadSize)
    throw FormatError(input_name, 0,
                      "payload of " + std::to_string(payload.size()) + " bytes, expected 1.." +
                          std::to_string(kMaxPayloadSize));
  const Value map = cbor::decode(payload, {}, input_name);
  FieldReader r(map, input_name);
  if (!map.is_map()) r.fail("payload is a " + std::string(cbor::kind_name(map.kind())) + ", expected a map");
  static const char* const kKnown[] = {"module_id", "digest",     "timestamp", "pcrs", "certificate",
                                       "cabundle",  "public_key", "user_data", "nonce"};
  for (const auto& [key, value] : map.as_map()) {
    bool known = false;
    for (const char* k : kKnown) known = known || (key.is_text() && key.as_text() == k);
    if (!known) r.fail("unknown field " + cbor::brief(key));
  }

  AttestationDocument doc;
  const Value& module_id = r.required("module_id");
  if (!module_id.is_text() || module_id.as_text().empty()) r.fail("field \"module_id\" is not a non-empty text string");
  doc.module_id = module_id.as_text();
  const Value& digest = r.required("digest");
  if (!digest.is_text() || digest.as_text() != "SHA384") r.fail("field \"digest\" is " + cbor::brief(digest) + ", expected \"SHA384\"");
  doc.digest = digest.as_text();
  const Value& ts = r.required("timestamp");
  if (!ts.is_unsigned() || ts.as_uint() == 0) r.fail("field \"timestamp\" is not a positive integer");
  doc.timestamp_ms = ts.as_uint();
  doc.pcrs = read_pcrs(r, r.required("pcrs"));
  doc.certificate = r.bytes(r.required("certificate"), "certificate", 1, kMaxCertSize);
  const Value& bundle = r.required("cabundle");
  if (!bundle.is_array() || bundle.as_array().empty()) r.fail("field \"cabundle\" is not a non-empty array");
  for (const Value& c : bundle.as_array()) doc.cabundle.push_back(r.bytes(c, "cabundle", 1, kMaxCertSize));
  doc.public_key = r.optional_bytes("public_key", 1, kMaxPublicKeySize);
  doc.user_data = r.optional_bytes("user_data", 0, kMaxUserDataSize);
  doc.nonce = r.optional_bytes("nonce", 0, kMaxNonceSize);
  return doc;
}

Bytes encode_document_payload(const AttestationDocument& doc) {
  auto opt = [](const std::optional<Bytes>& b) { return b ? Value::bytes(*b) : Value::null(); };
  Value pcrs = Value::map();
  for (const auto& [index, value] : doc.pcrs) pcrs.insert(Value::unsigned_int(index), Value::bytes(value));
  Value bundle = Value::array();
  for (const auto& c : doc.cabundle) bundle.push(Value::bytes(c));
  Value m = Value::map();
  m.insert(Value::text("module_id"), Value::text(doc.module_id));
  m.insert(Value::text("digest"), Value::text(doc.digest));
  m.insert(Value::text("timestamp"), Value::unsigned_int(doc.timestamp_ms));
  m.insert(Value::text("pcrs"), std::move(pcrs));
  m.insert(Value::text("certificate"), Value::bytes(doc.certificate));
  m.insert(Value::text("cabundle"), std::move(bundle));
  m.insert(Value::text("public_key"), opt(doc.public_key));
  m.insert(Value::text("user_data"), opt(doc.user_data));
  m.insert(Value::text("nonce"), opt(doc.nonce));
  return cbor::encode(m);
}

SignedDocument parse_signed_document(std::span<const std::uint8_t> bytes, std::string_view input_name) {
  SignedDocument out;
  out.envelope = cose::parse_sign1(bytes, input_name);
  out.document = parse_document_payload(out.envelope.payload, std::string(input_name) + " payload");
  return out;
}

}  // namespace ef::attest
