#pragma once
// A SAX pass over JSON or CBOR that only checks nesting depth. nlohmann's CBOR
// reader recurses once per level, so a 64 KiB body of nested arrays would
// overflow a thread's stack; running this pass first stops at the first level
// over the limit, before any DOM is built.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace ef::websrv {

class JsonDepthCheck : public nlohmann::json::json_sax_t {
 public:
  explicit JsonDepthCheck(std::size_t max_depth) : max_(max_depth) {}
  /// True when the input nested deeper than max_depth (the parse stopped there).
  bool too_deep() const { return too_deep_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_;
    return !too_deep_;
  }
  bool leave() {
    --depth_;
    return true;
  }
  std::size_t max_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace ef::websrv
