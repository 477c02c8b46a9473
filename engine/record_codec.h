// The byte form of every stored state record: one version byte, then the
// record's fields (schemas/fields.h). One definition for every record type,
// so a reader never accepts what the writer would not produce.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schemas/archive.h"
#include "schemas/base.h"

namespace ledger {

template <typename T>
std::string encode_versioned(std::uint8_t version, const T& r) {
  std::string out;
  writer w(out);
  w.u8(version);
  encoder e{w};
  e(r);
  return out;
}

// `what` names the record in the error ("payout destination: ...").
template <typename T>
status decode_versioned(std::string_view bytes, std::uint8_t version, std::string_view what, T& r) {
  reader rd(bytes);
  std::uint8_t v = rd.u8();
  if (rd.ok() && v != version) return status::corruption(std::string(what) + ": unknown record version");
  decoder d{rd};
  d(r);
  if (!rd.ok() || !rd.at_end()) return status::corruption(std::string(what) + ": record truncated or malformed");
  return status::ok();
}

}  // namespace ledger
