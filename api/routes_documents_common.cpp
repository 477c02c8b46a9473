// Shared pieces of the document routes (api/documents_common.h).
#include <algorithm>

#include "api/documents_common.h"
#include "engine/state.h"
#include "schemas/time.h"

namespace ledger::api::docs {

const document_settings* settings_or_fail(exchange& x) {
  const auto& s = x.svc.config.documents;
  const payout_keys* k = x.svc.config.payment_keys;
  if (s.store && k && k->configured()) return &s;
  x.fail({503, "documents-unavailable",
          "document storage needs a blob store and a master key (--master-key-file); none is configured", "", {}});
  return nullptr;
}

bool may_read(const service_state& s, const principal& who, const document_uploaded& d) {
  if (who.role_ == role::admin) return true;
  if (who.role_ != role::user) return false;
  if (d.owner == who.subject) return true;
  if (d.group == 0) return false;
  std::string v;
  std::vector<std::string> members;
  if (!s.ledger.storage().read_state(ledger::keys::group_members(d.group), v) || !decode_group_members(v, members))
    return false;
  return std::find(members.begin(), members.end(), who.subject) != members.end();
}

std::optional<document_uploaded> readable_document(exchange& x, std::uint64_t id) {
  std::string v;
  document_uploaded d;
  bool found = x.svc.ledger.storage().read_state(ledger::keys::document(id), v) && decode(v, d);
  if (!found || !x.who || !may_read(x.svc, *x.who, d)) {
    x.fail({404, "not-found", "no such document", "", {}});
    return std::nullopt;
  }
  return d;
}

void document_json(json_out& j, const payout_keys& keys, const document_uploaded& d) {
  j.begin_object().field("id", d.id).field("owner", d.owner);
  if (d.group != 0) j.field("group", d.group);
  j.field("category", to_string(d.category));
  std::string name;
  auto err = keys.decrypt(d.owner, file_name_context, "file_name", d.file_name, name);
  if (err == key_error::none) j.field("file_name", name);
  else j.field("file_name_unreadable", to_string(err));
  j.field("media_type", d.media_type)
      .field("size_bytes", d.size_bytes)
      .field("content_sha256", d.content_sha256)
      .field("thumbnail", !d.thumbnail_blob_id.empty())
      .field("key_id", d.key_id)
      .field("created_at", format_rfc3339_us(d.created_at_us))
      .end_object();
}

std::string_view query_value(const exchange& x, std::string_view name) {
  for (const auto& [k, v] : x.query)
    if (k == name) return v;
  return {};
}

}  // namespace ledger::api::docs
