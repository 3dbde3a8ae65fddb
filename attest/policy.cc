// Expected-PCR files for the verifier's policy.
#include <cctype>
#include <nlohmann/json.hpp>

#include "attest/verify.h"
#include "base/error.h"
#include "base/hash.h"

namespace ef::attest {
namespace {

std::uint32_t pcr_index(std::string_view name, std::string_view source) {
  std::string_view digits = name;
  if (digits.size() > 3 && (digits.substr(0, 3) == "PCR" || digits.substr(0, 3) == "pcr")) digits.remove_prefix(3);
  if (digits.empty() || digits.size() > 2 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    throw Error(std::string(source) + ": '" + std::string(name) + "' is not a PCR name (PCR0..PCR31)");
  const auto index = static_cast<std::uint32_t>(std::stoul(std::string(digits)));
  if (index > 31) throw Error(std::string(source) + ": PCR index " + std::to_string(index) + " is above 31");
  return index;
}

Bytes pcr_value(std::string_view hex, std::uint32_t index, std::string_view source) {
  Bytes v = from_hex(hex, std::string(source) + " PCR" + std::to_string(index));
  if (v.size() != 32 && v.size() != 48 && v.size() != 64)
    throw Error(std::string(source) + ": PCR" + std::to_string(index) + " has " + std::to_string(v.size()) +
                " bytes, expected 32, 48 or 64");
  return v;
}

std::map<std::uint32_t, Bytes> from_json(const nlohmann::json& j, std::string_view source) {
  std::map<std::uint32_t, Bytes> out;
  if (j.is_array()) {
    for (const auto& e : j) {
      if (!e.is_object() || !e.contains("index") || !e.contains("value") || !e["index"].is_number_unsigned() ||
          !e["value"].is_string())
        throw Error(std::string(source) + ": list entries must be {\"index\": N, \"value\": hex}");
      const auto index = pcr_index(std::to_string(e["index"].get<std::uint64_t>()), source);
      out[index] = pcr_value(e["value"].get<std::string>(), index, source);
    }
    return out;
  }
  if (!j.is_object()) throw Error(std::string(source) + ": expected a JSON object or array");
  const nlohmann::json& m = j.contains("Measurements") ? j["Measurements"] : j;
  if (!m.is_object()) throw Error(std::string(source) + ": \"Measurements\" is not an object");
  for (const auto& [key, value] : m.items()) {
    if (key == "HashAlgorithm") continue;
    if (!value.is_string()) throw Error(std::string(source) + ": " + key + " is not a hex string");
    const auto index = pcr_index(key, source);
    out[index] = pcr_value(value.get<std::string>(), index, source);
  }
  return out;
}

}  // namespace

std::map<std::uint32_t, Bytes> parse_expected_pcrs(std::string_view text, std::string_view source) {
  const auto first = text.find_first_not_of(" \t\r\n");
  std::map<std::uint32_t, Bytes> out;
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string(source) + ": " + e.what());
    }
    out = from_json(j, source);
  } else {
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
      if (line.empty()) continue;
      const auto eq = line.find_first_of("=:");
      const std::string where = std::string(source) + ":" + std::to_string(line_no);
      if (eq == std::string_view::npos) throw Error(where + ": expected PCRn=hex");
      const auto index = pcr_index(line.substr(0, eq), where);
      std::string_view value = line.substr(eq + 1);
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
      out[index] = pcr_value(value, index, where);
    }
  }
  if (out.empty()) throw Error(std::string(source) + ": no PCRs listed");
  return out;
}

}  // namespace ef::attest
