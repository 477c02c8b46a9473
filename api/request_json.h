// Reading JSON request bodies into commands, with precise errors: which
// field, and why. Unknown fields, wrong types, duplicate keys, excess
// precision, signs and overflow are all refused before anything reaches the
// engine.
//
// Limits: nesting depth `json_depth_max`; the body size is bounded by the
// server before it gets here.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "schemas/commands.h"

namespace ledger::api {

inline constexpr std::size_t json_depth_max = 16;

struct field_problem {
  int http_status = 400;
  std::string type;   // stable problem type slug, e.g. "invalid-field"
  std::string field;  // JSON path of the offending field ("" for the whole body)
  std::string detail;
};

// Parses `body` as one JSON object. Thread-safe (one parser per thread).
std::optional<field_problem> parse_object(std::string_view body, simdjson::dom::object& out);

// Typed access to an object's fields. Each getter records the first error;
// finish() also refuses fields no getter asked for.
class field_reader {
 public:
  // Returns the scale of a registered asset, or nullopt.
  using asset_scale_fn = std::function<std::optional<int>(std::string_view code)>;

  field_reader(simdjson::dom::object obj, std::string path_prefix = {}) : obj_(obj), prefix_(std::move(path_prefix)) {}

  std::uint64_t id(std::string_view name, bool required = true);
  // `lf_ok`: line feeds are allowed (multi-line text such as a signed message).
  std::string text(std::string_view name, bool required, std::size_t max_bytes, bool lf_ok = false);
  // A decimal string in major units of an asset of `scale` places.
  amount_t amount(std::string_view name, bool required, int scale, bool zero_ok = false);
  std::int64_t integer(std::string_view name, bool required, std::int64_t min, std::int64_t max);
  bool boolean(std::string_view name, bool fallback);
  // Any JSON object, kept as minified text (for metadata).
  std::string object_text(std::string_view name, std::size_t max_bytes);
  std::optional<simdjson::dom::array> array(std::string_view name, bool required, std::size_t max_items);
  // A nested JSON object, to be read with a field_reader of its own (path
  // prefix path_of(name)), which also refuses its unknown fields.
  std::optional<simdjson::dom::object> object(std::string_view name, bool required);
  std::string path_of(std::string_view name) const { return path(name); }
  // An asset code that must be registered; returns its scale (or -1 after an error).
  int asset(std::string_view name, const asset_scale_fn& scale_of, std::string& code_out);

  bool ok() const { return !error_.has_value(); }
  // Checks for unknown fields; returns the first problem, if any.
  std::optional<field_problem> finish();
  void fail(std::string_view name, std::string detail, std::string type = "invalid-field", int status = 400);

 private:
  std::optional<simdjson::dom::element> get(std::string_view name, bool required);
  std::string path(std::string_view name) const { return prefix_.empty() ? std::string(name) : prefix_ + "." + std::string(name); }

  simdjson::dom::object obj_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
  std::optional<field_problem> error_;
};

}  // namespace ledger::api
