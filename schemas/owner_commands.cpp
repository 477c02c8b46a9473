#include "schemas/owner_commands.h"

#include "schemas/session_validate.h"

namespace ledger {

namespace {

// Owners are principals: 1-128 bytes without control characters (so the
// state keys built from them never meet the index counters' 0x00/0x01).
std::optional<field_error> check_owner(const std::string& v) {
  if (v.empty() || v.size() > owner_bytes_max) return field_error{"owner", "must be 1 to 128 bytes"};
  for (unsigned char ch : v)
    if (ch < 0x20 || ch == 0x7f) return field_error{"owner", "must not contain control characters"};
  return std::nullopt;
}

}  // namespace

std::optional<field_error> validate_body(const export_documents_cmd& c) {
  if (auto e = check_owner(c.owner)) return e;
  if (c.document_count > documents_per_owner_max) return field_error{"document_count", "more than 10000 documents"};
  if (c.total_bytes > c.document_count * document_bytes_limit) return field_error{"total_bytes", "more than 4 GiB per document"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const delete_owner_cmd& c) {
  if (auto e = check_owner(c.owner)) return e;
  if (c.documents.size() > owner_deletion_documents_max)
    return field_error{"documents", "more than " + std::to_string(owner_deletion_documents_max) +
                                        " documents, more than one deletion event holds; delete some documents first"};
  for (auto id : c.documents)
    if (id == 0) return field_error{"documents", "a document id must be positive"};
  return std::nullopt;
}

}  // namespace ledger
