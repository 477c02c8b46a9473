#include "api/request_parse.h"

#include <charconv>
#include <random>

namespace ledger::api {

namespace {

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.' || c == ':'))
      return false;
  return true;
}

// Percent-decoding of one query key or value.
bool decode_query_part(std::string_view in, std::string& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      int v = 0;
      auto r = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
      if (r.ec != std::errc() || r.ptr != in.data() + i + 3) return false;
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return true;
}

bool split_path(std::string_view path, std::vector<std::string_view>& segments) {
  if (path.empty() || path[0] != '/') return false;
  path.remove_prefix(1);
  while (!path.empty()) {
    auto slash = path.find('/');
    auto seg = path.substr(0, slash);
    if (seg.empty() || seg.find('%') != std::string_view::npos) return false;
    segments.push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return false;  // trailing slash
  }
  return true;
}

bool split_query(std::string_view qs, header_list& query) {
  while (!qs.empty()) {
    auto amp = qs.find('&');
    auto pair = qs.substr(0, amp);
    auto eq = pair.find('=');
    std::string k, v;
    if (!decode_query_part(pair.substr(0, eq), k) ||
        (eq != std::string_view::npos && !decode_query_part(pair.substr(eq + 1), v)))
      return false;
    if (!k.empty()) query.emplace_back(std::move(k), std::move(v));
    if (amp == std::string_view::npos) break;
    qs.remove_prefix(amp + 1);
  }
  return true;
}

}  // namespace

bool split_target(std::string_view target, std::vector<std::string_view>& segments, header_list& query) {
  auto q = target.find('?');
  if (!split_path(target.substr(0, q), segments)) return false;
  return q == std::string_view::npos || split_query(target.substr(q + 1), query);
}

std::optional<std::uint64_t> parse_id(std::string_view s) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v == 0 || s[0] == '0') return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s(32, '0');
  std::uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) {
    s[static_cast<std::size_t>(i)] = hex[(a >> (4 * i)) & 15];
    s[static_cast<std::size_t>(16 + i)] = hex[(b >> (4 * i)) & 15];
  }
  return s;
}

std::string request_id_of(const http_request& req) {
  auto rid = req.header("x-request-id");
  return sane_request_id(rid) ? std::string(rid) : new_request_id();
}

bool is_json_content_type(const http_request& req) {
  auto ct = lower(req.header("content-type"));
  std::string base = ct.substr(0, ct.find(';'));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  return base == "application/json";
}

}  // namespace ledger::api
