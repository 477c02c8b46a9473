// Wallet documents (type codes 100-199, docs/documents.md): an owner's files
// (passports, tickets, insurance) recorded through the same log and single
// writer as money. A command carries metadata only: the content stays in the
// blob store (api/documents), encrypted there under the owner's data key, and
// the event keeps its SHA-256 and the blob's address. The file name arrives
// already encrypted by the API ("enc1:" + base64, as payout details), so the
// command log, the journal, Kafka and the read models never hold it in plain
// text; destroying the owner's data key makes it unreadable for good.
//
// Groups (a trip, say) are numbered by the service or admin that sets their
// members; members may list and read the documents filed under the group.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/command_type.h"

namespace ledger {

enum class document_category : std::uint8_t { passport = 1, visa = 2, ticket = 3, insurance = 4, health = 5, other = 6 };
std::string_view to_string(document_category c);
// false when `s` names no category.
bool parse_document_category(std::string_view s, document_category& out);

inline constexpr std::size_t document_media_type_bytes_max = 64;
inline constexpr std::size_t document_key_id_bytes_max = 32;
inline constexpr std::size_t document_file_name_ciphertext_bytes_max = 1024;
inline constexpr std::size_t group_members_max = 64;
// Documents one owner may hold at once, and groups one member may be in.
inline constexpr std::uint64_t documents_per_owner_max = 10'000;
inline constexpr std::size_t groups_per_member_max = 256;
inline constexpr std::uint64_t document_bytes_limit = 1ull << 32;  // sanity bound of a recorded size

struct upload_document_cmd {
  static constexpr command_type type = command_type::upload_document;
  std::string owner;               // whose data key encrypted the file name and the content
  std::uint64_t group = 0;         // 0: none
  document_category category = document_category::other;
  std::string file_name;           // ciphertext (enc1:...)
  std::string media_type;          // sniffed from the bytes by the API
  std::uint64_t size_bytes = 0;    // of the plain content
  std::string content_sha256;      // 64 lower-case hex digits, of the plain content
  std::string blob_id;             // 64 hex digits: SHA-256 of the stored (encrypted) blob
  std::string thumbnail_blob_id;   // "" or 64 hex digits
  std::string key_id;              // the master key id the owner's data key was wrapped under
  bool operator==(const upload_document_cmd&) const = default;
};

// Deletion by the document's owner (`owner` must be it).
struct delete_document_cmd {
  static constexpr command_type type = command_type::delete_document;
  std::uint64_t document_id = 0;
  std::string owner;
  bool operator==(const delete_document_cmd&) const = default;
};

// Replaces a group's members (at most group_members_max; empty dissolves it).
struct set_group_members_cmd {
  static constexpr command_type type = command_type::set_group_members;
  std::uint64_t group = 0;
  std::vector<std::string> members;
  bool operator==(const set_group_members_cmd&) const = default;
};

}  // namespace ledger
