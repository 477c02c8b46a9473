#include "auth/clarity.h"

#include <algorithm>

#include "schemas/base.h"

namespace ledger::auth {

namespace {

void put_u32(std::string& out, std::size_t n) {
  LEDGER_ASSERT(n <= 0xffffffffu, "a Clarity length fits in 32 bits");
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
}

std::string clarity_string(unsigned char type, std::string_view s) {
  std::string out(1, static_cast<char>(type));
  put_u32(out, s.size());
  out.append(s);
  return out;
}

}  // namespace

std::string clarity_uint(std::uint64_t v) {
  // A Clarity uint is 128 bits; the high 8 bytes of a 64-bit value are zero.
  std::string out(1, static_cast<char>(clarity_uint_type));
  out.append(8, '\0');
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

std::string clarity_string_ascii(std::string_view s) { return clarity_string(clarity_string_ascii_type, s); }
std::string clarity_string_utf8(std::string_view s) { return clarity_string(clarity_string_utf8_type, s); }

std::string clarity_tuple(std::vector<std::pair<std::string, std::string>> fields) {
  std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out(1, static_cast<char>(clarity_tuple_type));
  put_u32(out, fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& [name, value] = fields[i];
    LEDGER_ASSERT(!name.empty() && name.size() <= clarity_name_bytes_max, "a Clarity tuple name is 1 to 128 bytes");
    LEDGER_ASSERT(i == 0 || fields[i - 1].first != name, "Clarity tuple names are unique");
    out.push_back(static_cast<char>(name.size()));
    out.append(name);
    out.append(value);
  }
  return out;
}

std::string serialize_domain(const sip018_domain& d) {
  return clarity_tuple({{"name", clarity_string_ascii(d.name)},
                        {"version", clarity_string_ascii(d.version)},
                        {"chain-id", clarity_uint(d.chain_id)}});
}

std::string serialize_message(std::string_view message) {
  bool ascii = std::all_of(message.begin(), message.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  return ascii ? clarity_string_ascii(message) : clarity_string_utf8(message);
}

bytes32 sip018_hash(const sip018_domain& d, std::string_view message) {
  std::string data = "SIP018";
  auto domain_hash = sha256(serialize_domain(d));
  auto message_hash = sha256(serialize_message(message));
  data.append(reinterpret_cast<const char*>(domain_hash.data()), domain_hash.size());
  data.append(reinterpret_cast<const char*>(message_hash.data()), message_hash.size());
  return sha256(data);
}

}  // namespace ledger::auth
