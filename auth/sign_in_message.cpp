#include "auth/sign_in_message.h"

#include <optional>

#include "schemas/time.h"

namespace ledger::auth {

namespace {

constexpr std::string_view header_middle = " wants you to sign in with your ";
constexpr std::string_view header_end = " account:";

refusal malformed(std::string field, std::string detail) {
  return refusal{"malformed_message", std::move(field), std::move(detail)};
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    auto lf = text.find('\n');
    out.push_back(text.substr(0, lf));
    if (lf == std::string_view::npos) break;
    text.remove_prefix(lf + 1);
  }
  return out;
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

bool alnum(std::string_view s) {
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return !s.empty();
}

// Reads the first line: [scheme "://"] domain " wants you to sign in with your " label " account:".
std::optional<refusal> parse_header(std::string_view line, sign_in_message& m) {
  auto mid = line.find(header_middle);
  if (mid == std::string_view::npos || line.size() < header_end.size() ||
      line.substr(line.size() - header_end.size()) != header_end)
    return malformed("message", "the first line must be \"<domain> wants you to sign in with your <chain> account:\"");
  std::string_view domain = line.substr(0, mid);
  if (auto sep = domain.find("://"); sep != std::string_view::npos) {
    m.scheme = std::string(domain.substr(0, sep));
    domain.remove_prefix(sep + 3);
    if (!alnum(m.scheme)) return malformed("scheme", "the scheme must be letters and digits");
  }
  if (!ascii_domain(domain))
    return refusal{"domain_not_ascii", "domain",
                   "the domain must be an ASCII host name (look-alike characters from other scripts are refused)"};
  m.domain = std::string(domain);
  auto label_start = mid + header_middle.size();
  m.label = std::string(line.substr(label_start, line.size() - header_end.size() - label_start));
  if (m.label != "Ethereum" && m.label != "Solana" && m.label != "Stacks")
    return malformed("message", "the account must be Ethereum, Solana or Stacks");
  return std::nullopt;
}

struct field_spec {
  std::string_view prefix;
  bool required;
};
constexpr field_spec field_order[] = {
    {"URI: ", true},          {"Version: ", true},    {"Chain ID: ", true}, {"Nonce: ", true},
    {"Issued At: ", true},    {"Expiration Time: ", false}, {"Not Before: ", false}, {"Request ID: ", false},
};

std::optional<refusal> set_time(std::string_view field, std::string_view v, std::int64_t& out) {
  auto t = parse_rfc3339_us(v);
  if (!t) return malformed(std::string(field), std::string(field) + " must be an RFC 3339 date-time");
  out = *t;
  return std::nullopt;
}

std::optional<refusal> set_field(std::size_t i, std::string_view v, sign_in_message& m) {
  if (v.empty() || !printable(v)) return malformed(std::string(field_order[i].prefix.substr(0, field_order[i].prefix.size() - 2)), "must not be empty or hold control characters");
  switch (i) {
    case 0: m.uri = std::string(v); return std::nullopt;
    case 1: m.version = std::string(v); return std::nullopt;
    case 2: m.chain_id = std::string(v); return std::nullopt;
    case 3:
      if (!alnum(v) || v.size() < 8) return malformed("nonce", "the nonce must be at least 8 alphanumerics");
      m.nonce = std::string(v);
      return std::nullopt;
    case 4: return set_time("issued_at", v, m.issued_at_us);
    case 5: return set_time("expiration_time", v, m.expiration_us);
    case 6: return set_time("not_before", v, m.not_before_us);
    default: m.request_id = std::string(v); return std::nullopt;
  }
}

// Reads the fields from line `at` on, in their order, then the resources.
std::optional<refusal> parse_fields(const std::vector<std::string_view>& lines, std::size_t at, sign_in_message& m) {
  std::size_t next = 0;  // the first field_order entry still allowed
  for (; at < lines.size(); ++at) {
    auto line = lines[at];
    if (line == "Resources:") break;
    std::size_t i = next;
    while (i < std::size(field_order) && line.substr(0, field_order[i].prefix.size()) != field_order[i].prefix) {
      if (field_order[i].required)
        return malformed("message", "expected \"" + std::string(field_order[i].prefix) + "...\" on line " + std::to_string(at + 1));
      ++i;
    }
    if (i == std::size(field_order)) return malformed("message", "unexpected line " + std::to_string(at + 1));
    if (auto r = set_field(i, line.substr(field_order[i].prefix.size()), m)) return r;
    next = i + 1;
  }
  for (std::size_t i = next; i < std::size(field_order); ++i)
    if (field_order[i].required) return malformed("message", "missing \"" + std::string(field_order[i].prefix) + "...\"");
  if (at == lines.size()) return std::nullopt;
  for (++at; at < lines.size(); ++at) {
    if (lines[at].substr(0, 2) != "- " || lines[at].size() == 2 || !printable(lines[at]))
      return malformed("resources", "each resource is a line \"- <uri>\"");
    if (m.resources.size() == resources_max) return malformed("resources", "more than 16 resources");
    m.resources.emplace_back(lines[at].substr(2));
  }
  if (m.resources.empty()) return malformed("resources", "\"Resources:\" needs at least one resource");
  return std::nullopt;
}

}  // namespace

bool ascii_domain(std::string_view d) {
  auto colon = d.find(':');
  std::string_view host = d.substr(0, colon);
  if (host.empty() || host.size() > 253) return false;
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return false;
  if (colon == std::string_view::npos) return true;
  std::string_view port = d.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

std::variant<sign_in_message, refusal> parse_sign_in_message(std::string_view text) {
  if (text.size() > message_bytes_max) return malformed("message", "longer than 4096 bytes");
  if (text.find('\r') != std::string_view::npos) return malformed("message", "lines end in LF only");
  auto lines = split_lines(text);
  sign_in_message m;
  if (auto r = parse_header(lines[0], m)) return *r;
  if (lines.size() < 4) return malformed("message", "the message ends too early");
  m.address = std::string(lines[1]);
  if (m.address.empty() || !printable(m.address)) return malformed("address", "the second line must be the address");
  if (!lines[2].empty()) return malformed("message", "line 3 must be empty");
  std::size_t at = 3;
  if (lines[3].empty()) {
    at = 4;  // EIP-4361 without a statement
  } else if (lines[3].substr(0, 5) == "URI: ") {
    if (m.label == "Ethereum") return malformed("message", "EIP-4361 needs two empty lines before URI when there is no statement");
  } else {
    m.statement = std::string(lines[3]);
    if (!printable(m.statement)) return malformed("statement", "the statement must not hold control characters");
    if (lines.size() < 5 || !lines[4].empty()) return malformed("message", "an empty line must follow the statement");
    at = 5;
  }
  if (auto r = parse_fields(lines, at, m)) return *r;
  return m;
}

std::string format_time_ms(std::int64_t us) {
  std::string s = format_rfc3339_us(us - ((us % 1000) + 1000) % 1000);
  // "YYYY-MM-DDTHH:MM:SS.ffffffZ" -> "YYYY-MM-DDTHH:MM:SS.fffZ"
  return s.substr(0, 23) + "Z";
}

std::string format_sign_in_message(const sign_in_message& m) {
  std::string out;
  if (!m.scheme.empty()) out += m.scheme + "://";
  out += m.domain;
  out += header_middle;
  out += m.label;
  out += header_end;
  out += "\n" + m.address + "\n\n";
  if (!m.statement.empty()) out += m.statement + "\n";
  out += "\nURI: " + m.uri;
  out += "\nVersion: " + m.version;
  out += "\nChain ID: " + m.chain_id;
  out += "\nNonce: " + m.nonce;
  out += "\nIssued At: " + format_time_ms(m.issued_at_us);
  if (m.expiration_us != 0) out += "\nExpiration Time: " + format_time_ms(m.expiration_us);
  if (m.not_before_us != 0) out += "\nNot Before: " + format_time_ms(m.not_before_us);
  if (!m.request_id.empty()) out += "\nRequest ID: " + m.request_id;
  if (!m.resources.empty()) {
    out += "\nResources:";
    for (const auto& r : m.resources) out += "\n- " + r;
  }
  return out;
}

}  // namespace ledger::auth
