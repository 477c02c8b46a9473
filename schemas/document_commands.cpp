#include "schemas/document_commands.h"

#include "schemas/session_validate.h"

namespace ledger {

namespace {

constexpr std::pair<document_category, std::string_view> category_names[] = {
    {document_category::passport, "passport"},   {document_category::visa, "visa"},
    {document_category::ticket, "ticket"},       {document_category::insurance, "insurance"},
    {document_category::health, "health"},       {document_category::other, "other"}};

bool is_hex64(const std::string& v) {
  if (v.size() != 64) return false;
  for (char c : v)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Owners and members are principals: 1-128 bytes without control characters.
std::optional<field_error> check_principal(const char* field, const std::string& v) {
  if (v.empty() || v.size() > owner_bytes_max) return field_error{field, "must be 1 to 128 bytes"};
  for (unsigned char ch : v)
    if (ch < 0x20 || ch == 0x7f) return field_error{field, "must not contain control characters"};
  return std::nullopt;
}

// Printable ASCII without spaces (media types, key ids).
std::optional<field_error> check_token(const char* field, const std::string& v, std::size_t max) {
  if (v.empty() || v.size() > max) return field_error{field, "must be 1 to " + std::to_string(max) + " bytes"};
  for (unsigned char ch : v)
    if (ch <= 0x20 || ch >= 0x7f) return field_error{field, "must be printable ASCII without spaces"};
  return std::nullopt;
}

// The API encrypted the file name; anything else is refused, so a plain
// name cannot reach the journal by mistake.
std::optional<field_error> check_ciphertext(const char* field, const std::string& v) {
  if (v.empty()) return field_error{field, "is required"};
  if (v.size() > document_file_name_ciphertext_bytes_max) return field_error{field, "longer than 1024 bytes"};
  if (v.rfind("enc1:", 0) != 0) return field_error{field, "must be ciphertext (enc1:...)"};
  for (std::size_t i = 5; i < v.size(); ++i) {
    char c = v[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!ok) return field_error{field, "must be ciphertext (enc1: and base64)"};
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(document_category c) {
  for (const auto& [v, name] : category_names)
    if (v == c) return name;
  return "unknown";
}

bool parse_document_category(std::string_view s, document_category& out) {
  for (const auto& [v, name] : category_names)
    if (name == s) return out = v, true;
  return false;
}

std::optional<field_error> validate_body(const upload_document_cmd& c) {
  if (auto e = check_principal("owner", c.owner)) return e;
  if (to_string(c.category) == "unknown") return field_error{"category", "unknown category"};
  if (auto e = check_ciphertext("file_name", c.file_name)) return e;
  if (auto e = check_token("media_type", c.media_type, document_media_type_bytes_max)) return e;
  if (c.size_bytes == 0 || c.size_bytes > document_bytes_limit) return field_error{"size_bytes", "must be 1 to 2^32 bytes"};
  if (!is_hex64(c.content_sha256)) return field_error{"content_sha256", "must be 64 lower-case hex digits"};
  if (!is_hex64(c.blob_id)) return field_error{"blob_id", "must be 64 lower-case hex digits"};
  if (!c.thumbnail_blob_id.empty() && !is_hex64(c.thumbnail_blob_id))
    return field_error{"thumbnail_blob_id", "must be empty or 64 lower-case hex digits"};
  return check_token("key_id", c.key_id, document_key_id_bytes_max);
}

std::optional<field_error> validate_body(const delete_document_cmd& c) {
  if (c.document_id == 0) return field_error{"document_id", "is required"};
  return check_principal("owner", c.owner);
}

std::optional<field_error> validate_body(const set_group_members_cmd& c) {
  if (c.group == 0) return field_error{"group", "is required"};
  if (c.members.size() > group_members_max) return field_error{"members", "more than 64 members"};
  for (std::size_t i = 0; i < c.members.size(); ++i) {
    if (auto e = check_principal("members", c.members[i])) return e;
    for (std::size_t j = 0; j < i; ++j)
      if (c.members[j] == c.members[i]) return field_error{"members", "lists a member twice"};
  }
  return std::nullopt;
}

}  // namespace ledger
