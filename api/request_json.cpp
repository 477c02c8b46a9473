#include "api/request_json.h"

#include <limits>

namespace ledger::api {

namespace {
// Depth is bounded by the parser's json_depth_max, so this recursion is too.
std::optional<std::string> first_duplicate_key(simdjson::dom::element e, const std::string& path) {
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (!e.get_object().get(obj)) {
    std::set<std::string_view> keys;
    for (auto [k, v] : obj) {
      std::string p = path.empty() ? std::string(k) : path + "." + std::string(k);
      if (!keys.insert(k).second) return p;
      if (auto d = first_duplicate_key(v, p)) return d;
    }
  } else if (!e.get_array().get(arr)) {
    std::size_t i = 0;
    for (auto v : arr)
      if (auto d = first_duplicate_key(v, path + "[" + std::to_string(i++) + "]")) return d;
  }
  return std::nullopt;
}

// The first key or string holding a NUL character (\u0000), which
// PostgreSQL's text and jsonb cannot store: the string's path, or for a key
// the path of its object (a field name holding NUL would be no help to a
// client). Depth is bounded like first_duplicate_key's.
struct nul_at {
  std::string path;
  bool in_key = false;
};
std::optional<nul_at> first_nul(simdjson::dom::element e, const std::string& path) {
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  std::string_view str;
  if (!e.get_object().get(obj)) {
    for (auto [k, v] : obj) {
      std::string p = path + "." + std::string(k);
      if (k.find('\0') != std::string_view::npos) return nul_at{path, true};
      if (auto d = first_nul(v, p)) return d;
    }
  } else if (!e.get_array().get(arr)) {
    std::size_t i = 0;
    for (auto v : arr)
      if (auto d = first_nul(v, path + "[" + std::to_string(i++) + "]")) return d;
  } else if (!e.get_string().get(str) && str.find('\0') != std::string_view::npos) {
    return nul_at{path, false};
  }
  return std::nullopt;
}
}  // namespace

std::optional<field_problem> parse_object(std::string_view body, simdjson::dom::object& out) {
  // One parser per thread, sized on first use and reused: no allocation per
  // request once warm.
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    // A failed allocation here surfaces as a parse error on first use.
    if (p.allocate(1 << 20, json_depth_max)) return simdjson::dom::parser{};
    return p;
  }();
  if (body.empty()) return field_problem{400, "malformed-json", "", "the request body is empty; a JSON object is required"};
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  auto err = parser.parse(padded).get(doc);
  if (err == simdjson::DEPTH_ERROR)
    return field_problem{400, "malformed-json", "", "JSON nested deeper than " + std::to_string(json_depth_max) + " levels"};
  if (err == simdjson::CAPACITY) return field_problem{413, "body-too-large", "", "the JSON document is too large"};
  if (err) return field_problem{400, "malformed-json", "", std::string("malformed JSON: ") + simdjson::error_message(err)};
  if (doc.get_object().get(out)) return field_problem{400, "malformed-json", "", "the body must be a JSON object"};
  // Refuse duplicate keys at any depth: two values for one field is ambiguous.
  if (auto dup = first_duplicate_key(doc, ""))
    return field_problem{400, "invalid-field", *dup, "field appears twice"};
  return std::nullopt;
}

void field_reader::fail(std::string_view name, std::string detail, std::string type, int status) {
  if (!error_) error_ = field_problem{status, std::move(type), path(name), std::move(detail)};
}

std::optional<simdjson::dom::element> field_reader::get(std::string_view name, bool required) {
  seen_.emplace(name);
  simdjson::dom::element v;
  if (obj_.at_key(name).get(v)) {
    if (required) fail(name, "is required");
    return std::nullopt;
  }
  if (v.is_null()) {
    if (required) fail(name, "is required");
    return std::nullopt;
  }
  return v;
}

std::uint64_t field_reader::id(std::string_view name, bool required) {
  auto v = get(name, required);
  if (!v) return 0;
  std::uint64_t out = 0;
  if (v->get_uint64().get(out) || out == 0) {
    fail(name, "must be a positive integer id");
    return 0;
  }
  return out;
}

std::string field_reader::text(std::string_view name, bool required, std::size_t max_bytes, bool lf_ok) {
  auto v = get(name, required);
  if (!v) return {};
  std::string_view s;
  if (v->get_string().get(s)) {
    fail(name, "must be a string");
    return {};
  }
  if (required && s.empty()) fail(name, "must not be empty");
  if (s.size() > max_bytes) fail(name, "longer than " + std::to_string(max_bytes) + " bytes");
  for (unsigned char c : s)
    if ((c < 0x20 && !(lf_ok && c == '\n')) || c == 0x7f) {
      fail(name, lf_ok ? "must not contain control characters other than line feeds" : "must not contain control characters");
      break;
    }
  return std::string(s);
}

amount_t field_reader::amount(std::string_view name, bool required, int scale, bool zero_ok) {
  auto v = get(name, required);
  if (!v) return 0;
  std::string_view s;
  if (v->get_string().get(s)) {
    // Numbers are refused on purpose: JSON numbers are doubles to most
    // clients, and money must not pass through floating point.
    fail(name, "must be a decimal string such as \"12.50\", not a JSON number");
    return 0;
  }
  if (scale < 0) return 0;  // the asset was already reported
  auto r = parse_amount(s, scale, false);
  if (!r.value) {
    fail(name, std::string(to_string(r.error)) + " (asset scale " + std::to_string(scale) + ")");
    return 0;
  }
  if (*r.value == 0 && !zero_ok) fail(name, "must be greater than zero");
  return *r.value;
}

std::int64_t field_reader::integer(std::string_view name, bool required, std::int64_t min, std::int64_t max) {
  auto v = get(name, required);
  if (!v) return 0;
  std::int64_t out = 0;
  if (v->get_int64().get(out)) {
    fail(name, "must be an integer");
    return 0;
  }
  if (out < min || out > max)
    fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return out;
}

bool field_reader::boolean(std::string_view name, bool fallback) {
  auto v = get(name, false);
  if (!v) return fallback;
  bool out = fallback;
  if (v->get_bool().get(out)) fail(name, "must be true or false");
  return out;
}

std::string field_reader::object_text(std::string_view name, std::size_t max_bytes) {
  auto v = get(name, false);
  if (!v) return {};
  if (!v->is_object()) {
    fail(name, "must be a JSON object");
    return {};
  }
  // The read models must be able to hold every accepted command's strings.
  if (auto nul = first_nul(*v, path(name))) {
    if (!error_)
      error_ = field_problem{400, "invalid-field", nul->path,
                             nul->in_key ? "a key must not contain the NUL character (\\u0000)"
                                         : "must not contain the NUL character (\\u0000)"};
    return {};
  }
  std::string s = simdjson::minify(*v);
  if (s.size() > max_bytes) fail(name, "larger than " + std::to_string(max_bytes) + " bytes");
  return s;
}

std::optional<simdjson::dom::array> field_reader::array(std::string_view name, bool required, std::size_t max_items) {
  auto v = get(name, required);
  if (!v) return std::nullopt;
  simdjson::dom::array a;
  if (v->get_array().get(a)) {
    fail(name, "must be an array");
    return std::nullopt;
  }
  if (a.size() > max_items) {
    fail(name, "has more than " + std::to_string(max_items) + " items");
    return std::nullopt;
  }
  return a;
}

std::optional<simdjson::dom::object> field_reader::object(std::string_view name, bool required) {
  auto v = get(name, required);
  if (!v) return std::nullopt;
  simdjson::dom::object o;
  if (v->get_object().get(o)) {
    fail(name, "must be a JSON object");
    return std::nullopt;
  }
  return o;
}

int field_reader::asset(std::string_view name, const asset_scale_fn& scale_of, std::string& code_out) {
  code_out = text(name, true, asset_code_bytes_max);
  if (!ok()) return -1;
  auto scale = scale_of(code_out);
  if (!scale) {
    fail(name, "asset " + code_out + " is not registered", "unknown-asset", 422);
    return -1;
  }
  return *scale;
}

std::optional<field_problem> field_reader::finish() {
  if (error_) return error_;
  for (auto [k, v] : obj_)
    if (!seen_.count(k)) return field_problem{400, "unknown-field", path(k), "is not a field of this request"};
  return std::nullopt;
}

}  // namespace ledger::api
