// Wallet documents (schemas/document_commands.h): metadata records, an index
// by owner and by group, and group memberships. All cold state, read through
// state_kv when a command needs it (nothing is loaded at start), so memory
// does not grow with the number of documents. The engine never sees file
// contents, plain file names or keys.
#include <algorithm>

#include "engine/record_codec.h"
#include "engine/decide.h"
#include "schemas/codec.h"
#include "schemas/fields.h"

namespace ledger {

namespace {

constexpr std::uint8_t document_record_version = 1;
constexpr std::uint8_t group_record_version = 1;

// Key parts in the store's big-endian form (schemas/codec.h).
std::string be64(std::uint64_t v) {
  std::string s;
  put_key_u64(s, v);
  return s;
}

std::uint64_t from_be64(std::string_view s) { return get_key_u64(s); }

std::uint64_t read_count(state_kv& kv, const std::string& key) {
  auto v = kv.get(key);
  return v && v->size() == 8 ? from_be64(*v) : 0;
}

// Counts live beside their index under the same prefix letter, after byte
// 0x01: owners and members never hold a control character (validated), so
// a scan of "<letter><name>\0" never meets the count.
void add_count(state_kv& kv, const std::string& key, bool up) {
  std::uint64_t n = read_count(kv, key);
  LEDGER_ASSERT(up || n > 0, "document count below zero");
  n = up ? n + 1 : n - 1;
  if (n == 0) kv.del(key);
  else kv.put(key, be64(n));
}

}  // namespace

namespace keys {
std::string document(std::uint64_t id) { return "D" + be64(id); }
std::string owner_documents_prefix(std::string_view owner) { return "E" + std::string(owner) + '\0'; }
std::string owner_document(std::string_view owner, std::uint64_t id) { return owner_documents_prefix(owner) + be64(id); }
std::string owner_document_count(std::string_view owner) { return "E" + std::string(owner) + '\x01'; }
std::string group_documents_prefix(std::uint64_t group) { return "F" + be64(group); }
std::string group_document(std::uint64_t group, std::uint64_t id) { return group_documents_prefix(group) + be64(id); }
std::string group_members(std::uint64_t group) { return "G" + be64(group); }
std::string member_groups_prefix(std::string_view member) { return "H" + std::string(member) + '\0'; }
std::string member_group(std::string_view member, std::uint64_t group) { return member_groups_prefix(member) + be64(group); }
std::string member_group_count(std::string_view member) { return "H" + std::string(member) + '\x01'; }
}  // namespace keys

std::string encode(const document_uploaded& r) { return encode_versioned(document_record_version, r); }

status decode(std::string_view bytes, document_uploaded& r) {
  return decode_versioned(bytes, document_record_version, "document", r);
}

std::string encode_group_members(const std::vector<std::string>& members) {
  return encode_versioned(group_record_version, members);
}

status decode_group_members(std::string_view bytes, std::vector<std::string>& members) {
  return decode_versioned(bytes, group_record_version, "group", members);
}

std::optional<document_uploaded> ledger_state::document(std::uint64_t id) const {
  auto v = kv_.get(keys::document(id));
  if (!v) return std::nullopt;
  document_uploaded d;
  LEDGER_ASSERT(decode(*v, d).is_ok(), "document record undecodable");
  return d;
}

std::vector<std::string> ledger_state::group_members(std::uint64_t group) const {
  std::vector<std::string> out;
  if (auto v = kv_.get(keys::group_members(group))) LEDGER_ASSERT(decode_group_members(*v, out).is_ok(), "group record undecodable");
  return out;
}

std::uint64_t ledger_state::document_count(std::string_view owner) const {
  return read_count(kv_, keys::owner_document_count(owner));
}

std::uint64_t ledger_state::group_count(std::string_view member) const {
  return read_count(kv_, keys::member_group_count(member));
}

std::vector<std::uint64_t> ledger_state::member_groups(std::string_view member) const {
  auto it = groups_by_member_.find(std::string(member));
  if (it == groups_by_member_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void ledger_state::index_group(std::uint64_t group, const std::vector<std::string>& members, bool add) {
  for (const auto& m : members) {
    if (add) {
      groups_by_member_[m].insert(group);
      continue;
    }
    auto it = groups_by_member_.find(m);
    if (it == groups_by_member_.end()) continue;
    it->second.erase(group);
    if (it->second.empty()) groups_by_member_.erase(it);
  }
}

status ledger_state::load_group_entry(std::string_view key, std::string_view value) {
  if (key.size() != 9) return status::corruption("group members key malformed");
  std::vector<std::string> members;
  if (auto s = decode_group_members(value, members); !s) return s;
  index_group(get_key_u64(key.substr(1)), members, true);
  return status::ok();
}

void ledger_state::apply_document_effect(const effect& fx) {
  if (auto* u = std::get_if<document_uploaded>(&fx)) {
    LEDGER_ASSERT(!kv_.get(keys::document(u->id)), "document recorded twice");
    kv_.put(keys::document(u->id), encode(*u));
    kv_.put(keys::owner_document(u->owner, u->id), {});
    add_count(kv_, keys::owner_document_count(u->owner), true);
    if (u->group != 0) kv_.put(keys::group_document(u->group, u->id), {});
  } else if (auto* d = std::get_if<document_deleted>(&fx)) {
    LEDGER_ASSERT(kv_.get(keys::document(d->id)).has_value(), "deleting a document that does not exist");
    kv_.del(keys::document(d->id));
    kv_.del(keys::owner_document(d->owner, d->id));
    add_count(kv_, keys::owner_document_count(d->owner), false);
    if (d->group != 0) kv_.del(keys::group_document(d->group, d->id));
  } else if (auto* g = std::get_if<group_members_set>(&fx)) {
    for (const auto& m : g->before) {
      kv_.del(keys::member_group(m, g->group));
      add_count(kv_, keys::member_group_count(m), false);
    }
    for (const auto& m : g->members) {
      kv_.put(keys::member_group(m, g->group), {});
      add_count(kv_, keys::member_group_count(m), true);
    }
    index_group(g->group, g->before, false);
    index_group(g->group, g->members, true);
    if (g->members.empty()) kv_.del(keys::group_members(g->group));
    else kv_.put(keys::group_members(g->group), encode_group_members(g->members));
  }
}

namespace {

struct rejecter {
  event& out;
  void operator()(reason r, std::string detail) const {
    out.status = event_status::rejected;
    out.reason = r;
    out.detail = std::move(detail);
  }
};

}  // namespace

void decide_document(const ledger_state& s, const upload_document_cmd& c, const decide_context& ctx, event& out) {
  out.effects.clear();
  rejecter reject{out};
  if (c.group != 0) {
    auto members = s.group_members(c.group);
    if (std::find(members.begin(), members.end(), c.owner) == members.end())
      return reject(reason::not_group_member, "group " + std::to_string(c.group) + ": the owner is not a member");
  }
  if (s.document_count(c.owner) >= documents_per_owner_max)
    return reject(reason::invalid_state, "the owner holds " + std::to_string(documents_per_owner_max) + " documents");
  out.effects.emplace_back(document_uploaded{ctx.seq, c.owner, c.group, c.category, c.file_name, c.media_type,
                                             c.size_bytes, c.content_sha256, c.blob_id, c.thumbnail_blob_id, c.key_id,
                                             ctx.now_us});
  out.status = event_status::accepted;
}

void decide_document(const ledger_state& s, const delete_document_cmd& c, const decide_context&, event& out) {
  out.effects.clear();
  rejecter reject{out};
  auto d = s.document(c.document_id);
  // Another owner's document is answered as a missing one.
  if (!d || d->owner != c.owner) return reject(reason::unknown_document, "document " + std::to_string(c.document_id));
  out.effects.emplace_back(document_deleted{d->id, d->owner, d->group, d->blob_id, d->thumbnail_blob_id});
  out.status = event_status::accepted;
}

void decide_document(const ledger_state& s, const set_group_members_cmd& c, const decide_context&, event& out) {
  out.effects.clear();
  rejecter reject{out};
  auto before = s.group_members(c.group);
  for (const auto& m : c.members) {
    bool already = std::find(before.begin(), before.end(), m) != before.end();
    if (!already && s.group_count(m) >= groups_per_member_max)
      return reject(reason::invalid_state, "member " + m + " is in " + std::to_string(groups_per_member_max) + " groups");
  }
  out.effects.emplace_back(group_members_set{c.group, std::move(before), c.members});
  out.status = event_status::accepted;
}

}  // namespace ledger
