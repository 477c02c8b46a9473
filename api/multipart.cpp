// States follow the syntax: a preamble up to the first delimiter, then per
// part a delimiter line, headers up to an empty line, the body up to the
// next CRLF + delimiter; "--" after a delimiter closes the body.
#include "api/multipart.h"

#include <cctype>

namespace ledger::api {

namespace {

constexpr std::size_t boundary_bytes_max = 70;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool boundary_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// Parameters after the first ';' of a header value: name (lower-cased) and
// value (a token, or a quoted string with backslash escapes). False when
// malformed.
bool each_param(std::string_view v, const std::function<void(const std::string&, const std::string&)>& each) {
  auto semi = v.find(';');
  if (semi == std::string_view::npos) return true;
  v.remove_prefix(semi + 1);
  while (!(v = trim(v)).empty()) {
    auto eq = v.find('=');
    if (eq == std::string_view::npos) return false;
    std::string name = lower(trim(v.substr(0, eq)));
    v.remove_prefix(eq + 1);
    std::string value;
    if (!v.empty() && v.front() == '"') {
      std::size_t i = 1;
      for (; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value.push_back(v[i]);
      }
      if (i >= v.size()) return false;
      v.remove_prefix(i + 1);
      v = trim(v);
      if (!v.empty() && v.front() != ';') return false;
    } else {
      auto end = v.find(';');
      value = std::string(trim(v.substr(0, end)));
      v.remove_prefix(end == std::string_view::npos ? v.size() : end);
    }
    if (!v.empty()) v.remove_prefix(1);
    each(name, value);
  }
  return true;
}

// One part's header block (without the empty line) into `p`; "" or the error.
std::string parse_part_headers(std::string_view block, multipart_part& p) {
  bool disposition = false;
  while (!block.empty()) {
    auto eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) return "folded part headers are not supported";
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return "a part header has no colon";
    std::string name = lower(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-type") p.content_type = std::string(value);
    if (name != "content-disposition") continue;
    disposition = true;
    if (lower(trim(value.substr(0, value.find(';')))) != "form-data") return "a part's Content-Disposition must be form-data";
    bool ok = each_param(value, [&](const std::string& k, const std::string& v) {
      if (k == "name") p.name = v;
      else if (k == "filename") p.filename = v;
    });
    if (!ok) return "a part's Content-Disposition is malformed";
  }
  if (!disposition || p.name.empty()) return "a part has no Content-Disposition: form-data with a name";
  return "";
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type, std::string& error) {
  std::optional<std::string> found;
  bool ok = each_param(content_type, [&](const std::string& k, const std::string& v) {
    if (k == "boundary") found = v;
  });
  if (!ok) return error = "the Content-Type's parameters are malformed", std::nullopt;
  if (!found) return error = "Content-Type multipart/form-data needs a boundary parameter", std::nullopt;
  bool valid = !found->empty() && found->size() <= boundary_bytes_max && found->back() != ' ';
  for (char c : *found) valid = valid && boundary_char(c);
  if (!valid) return error = "the multipart boundary must be 1 to 70 characters of RFC 2046's set", std::nullopt;
  return found;
}

multipart_reader::multipart_reader(std::string boundary, events ev, std::size_t part_header_bytes_max, std::size_t parts_max)
    : delimiter_("\r\n--" + boundary), ev_(std::move(ev)), header_max_(part_header_bytes_max), parts_max_(parts_max),
      buf_("\r\n") {}  // so a body opening with the delimiter line matches it

std::string multipart_reader::fail(std::string why) {
  state_ = state::failed;
  buf_.clear();
  buf_.shrink_to_fit();
  return why;
}

std::string multipart_reader::feed(std::string_view bytes) {
  if (state_ == state::failed) return "the multipart body was already refused";
  if (state_ == state::epilogue) return "";  // after the closing delimiter: ignored
  buf_.append(bytes);
  for (;;) {
    auto before = std::make_pair(state_, buf_.size());
    if (auto e = step(); !e.empty()) return fail(std::move(e));
    if (state_ == state::epilogue) return buf_.clear(), "";
    if (std::make_pair(state_, buf_.size()) == before) return "";
  }
}

std::string multipart_reader::finish() {
  if (state_ == state::epilogue) return "";
  if (state_ == state::failed) return "the multipart body was already refused";
  return fail(state_ == state::preamble ? "the multipart body has no boundary line" : "the multipart body ends before its closing boundary");
}

std::string multipart_reader::step() {
  switch (state_) {
    case state::preamble: {
      auto at = buf_.find(delimiter_);
      if (at == std::string::npos) {
        // Keep what could be the start of a delimiter split across feeds.
        if (buf_.size() >= delimiter_.size()) buf_.erase(0, buf_.size() - (delimiter_.size() - 1));
        return "";
      }
      buf_.erase(0, at + delimiter_.size());
      state_ = state::after_delimiter;
      return "";
    }
    case state::after_delimiter: return on_after_delimiter();
    case state::headers: return on_headers();
    case state::body: return on_body();
    default: return "";
  }
}

std::string multipart_reader::on_after_delimiter() {
  std::size_t pad = 0;  // RFC 2046 allows spaces and tabs after a delimiter
  while (pad < buf_.size() && (buf_[pad] == ' ' || buf_[pad] == '\t')) ++pad;
  buf_.erase(0, pad);
  if (buf_.size() < 2) return "";
  if (buf_.compare(0, 2, "--") == 0) return state_ = state::epilogue, "";
  if (buf_.compare(0, 2, "\r\n") != 0) return "a boundary line must end with CRLF or \"--\"";
  buf_.erase(0, 2);
  state_ = state::headers;
  return "";
}

std::string multipart_reader::on_headers() {
  std::size_t end = buf_.compare(0, 2, "\r\n") == 0 ? 0 : buf_.find("\r\n\r\n");
  if (end == std::string::npos || end > header_max_) {
    if (buf_.size() > header_max_ + 4 || (end != std::string::npos && end > header_max_))
      return "a part's headers exceed " + std::to_string(header_max_) + " bytes";
    return "";
  }
  if (++parts_ > parts_max_) return "more than " + std::to_string(parts_max_) + " parts";
  multipart_part p;
  if (auto e = parse_part_headers(std::string_view(buf_).substr(0, end), p); !e.empty()) return e;
  buf_.erase(0, end == 0 ? 2 : end + 4);
  state_ = state::body;
  return ev_.begin(p);
}

std::string multipart_reader::on_body() {
  auto at = buf_.find(delimiter_);
  if (at == std::string::npos) {
    if (buf_.size() < delimiter_.size()) return "";
    std::size_t safe = buf_.size() - (delimiter_.size() - 1);
    auto e = ev_.data(std::string_view(buf_).substr(0, safe));
    buf_.erase(0, safe);
    return e;
  }
  if (at > 0)
    if (auto e = ev_.data(std::string_view(buf_).substr(0, at)); !e.empty()) return e;
  buf_.erase(0, at + delimiter_.size());
  state_ = state::after_delimiter;
  return ev_.end();
}

}  // namespace ledger::api
