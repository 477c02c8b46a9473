// Signed download links for documents: HMAC-SHA256 under a key of its own
// (never the JWT signing key), over the document id and the expiry, so a
// link opens one document until it expires. Deletion ends a link too: the
// content route finds no document.
//
// Key file: 32 bytes, raw or 64 hex digits with an optional newline.
// Thread-safe: constant after load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger::documents {

inline constexpr std::int64_t link_ttl_s_max = 3600;

class link_signer {
 public:
  // Loads the key; an error message otherwise (never the key bytes).
  static std::optional<std::string> load(const std::string& path, link_signer& out);
  bool configured() const { return !key_.empty(); }
  // 64 lower-case hex digits.
  std::string sign(std::uint64_t document_id, std::int64_t expires_s) const;
  // Constant-time comparison of a presented signature.
  bool verify(std::uint64_t document_id, std::int64_t expires_s, std::string_view signature) const;

 private:
  std::string key_;
};

}  // namespace ledger::documents
