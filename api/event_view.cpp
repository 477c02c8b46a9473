#include "api/event_view.h"

#include <algorithm>

#include "api/request_parse.h"
#include "engine/state.h"
#include "schemas/codec.h"
#include "schemas/event_json.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

bool known_type(std::string_view t) {
  if (t == "system") return true;
  for (int i = 1; i <= static_cast<int>(command_type::close_account); ++i)
    if (to_string(static_cast<command_type>(i)) == t) return true;
  return false;
}

// Every value of parameter `name` (repeated or comma-separated), removed from `query`.
std::optional<problem> take_list(header_list& query, std::string_view name, std::vector<std::string>& out) {
  for (auto it = query.begin(); it != query.end();) {
    if (it->first != name) {
      ++it;
      continue;
    }
    std::string_view rest = it->second;
    for (;;) {
      auto comma = rest.find(',');
      auto item = rest.substr(0, comma);
      if (item.empty()) return problem{400, "invalid-field", "has an empty value", std::string(name), {}};
      if (item.size() > 64) return problem{400, "invalid-field", "has a value longer than 64 bytes", std::string(name), {}};
      out.emplace_back(item);
      if (out.size() > event_filter_values_max)
        return problem{400, "invalid-field", "has more than " + std::to_string(event_filter_values_max) + " values",
                       std::string(name), {}};
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    it = query.erase(it);
  }
  return std::nullopt;
}

std::optional<std::string> take_one(header_list& query, std::string_view name, std::optional<problem>& err) {
  std::optional<std::string> v;
  for (auto it = query.begin(); it != query.end();) {
    if (it->first != name) {
      ++it;
      continue;
    }
    if (v) err = problem{400, "invalid-field", "given twice", std::string(name), {}};
    v = std::move(it->second);
    it = query.erase(it);
  }
  return v;
}

}  // namespace

std::optional<problem> read_event_filter(header_list& query, bool role_may_filter_principal, event_filter& out) {
  std::vector<std::string> wallets;
  if (auto p = take_list(query, "wallet", wallets)) return p;
  for (const auto& w : wallets) {
    auto id = parse_id(w);
    if (!id) return problem{400, "invalid-field", "must be wallet ids (positive integers)", "wallet", {}};
    out.wallets.push_back(*id);
  }
  if (auto p = take_list(query, "asset", out.assets)) return p;
  if (auto p = take_list(query, "type", out.types)) return p;
  for (const auto& t : out.types)
    if (!known_type(t)) return problem{400, "invalid-field", "unknown event type " + t, "type", {}};
  std::optional<problem> err;
  out.principal = take_one(query, "principal", err);
  if (err) return err;
  if (out.principal && !role_may_filter_principal)
    return problem{403, "forbidden", "only admin and auditor may filter by principal", "principal", {}};
  if (out.principal && (out.principal->empty() || out.principal->size() > 256))
    return problem{400, "invalid-field", "must be 1 to 256 bytes", "principal", {}};
  return std::nullopt;
}

std::optional<problem> read_event_position(header_list& query, event_position& out) {
  std::optional<problem> err;
  auto after = take_one(query, "after_seq", err);
  auto from = take_one(query, "from_time", err);
  if (err) return err;
  if (after && from) return problem{400, "invalid-field", "give after_seq or from_time, not both", "from_time", {}};
  if (after) {
    if (*after == "0") out.after_seq = 0;
    else if (auto n = parse_id(*after)) out.after_seq = *n;
    else return problem{400, "invalid-field", "must be a sequence number (0 or more, no sign)", "after_seq", {}};
  }
  if (from) {
    auto ts = parse_rfc3339_us(*from);
    if (!ts) return problem{400, "invalid-field", "must be an RFC 3339 time such as 2026-01-31T12:00:00Z", "from_time", {}};
    out.from_time_us = *ts;
  }
  return std::nullopt;
}

namespace {

bool any_of_in(const std::vector<std::uint64_t>& have, const std::vector<std::uint64_t>& want) {
  return std::any_of(have.begin(), have.end(),
                     [&](std::uint64_t id) { return std::find(want.begin(), want.end(), id) != want.end(); });
}

bool matches(const event& e, const event_filter& f, const std::vector<std::uint64_t>& accounts) {
  if (!f.types.empty() && std::find(f.types.begin(), f.types.end(), event_type_name(e)) == f.types.end()) return false;
  if (f.principal && e.principal != *f.principal) return false;
  if (!f.wallets.empty() && !any_of_in(accounts, f.wallets)) return false;
  if (!f.assets.empty()) {
    auto assets = event_assets(e);
    if (std::none_of(assets.begin(), assets.end(), [&](const std::string& a) {
          return std::find(f.assets.begin(), f.assets.end(), a) != f.assets.end();
        }))
      return false;
  }
  return true;
}

// Keeps the effects a user may see: `own` are its accounts among the event's.
// A transaction record's request fields (reference, description, metadata)
// are its issuer's, as on the read API: another user sees them empty, and
// sees no owner but its own.
void redact_effects(event& e, const std::vector<std::uint64_t>& own, const std::string& user, bool issued,
                    event_json_view& view) {
  auto mine = [&](std::uint64_t id) { return std::binary_search(own.begin(), own.end(), id); };
  std::vector<effect> kept;
  for (auto& fx : e.effects) {
    if (auto* m = std::get_if<money_tx_opened>(&fx)) {
      if (!issued) m->reference.clear(), m->description.clear(), m->metadata.clear();
      if (m->owner != user) m->owner.clear();
    }
    if (auto* o = std::get_if<account_opened>(&fx); o && !mine(o->id)) continue;
    if (auto* s = std::get_if<account_status_changed>(&fx); s && !mine(s->id)) continue;
    if (auto* d = std::get_if<daily_usage>(&fx); d && !mine(d->account)) continue;
    if (auto* b = std::get_if<balance_changed>(&fx); b && !mine(b->account)) view.balances_withheld.push_back(b->account);
    kept.push_back(std::move(fx));
  }
  e.effects = std::move(kept);
  std::sort(view.balances_withheld.begin(), view.balances_withheld.end());
}

// A document event `user` may see: its own document's, or its group's.
bool document_reader(const event& e, const std::string& user, const member_lookup& member) {
  for (const auto& fx : e.effects) {
    const std::string* owner = nullptr;
    std::uint64_t group = 0;
    if (auto* u = std::get_if<document_uploaded>(&fx)) owner = &u->owner, group = u->group;
    else if (auto* d = std::get_if<document_deleted>(&fx)) owner = &d->owner, group = d->group;
    if (!owner) continue;
    if (*owner == user || (group != 0 && member && member(group, user))) return true;
  }
  return false;
}

}  // namespace

member_lookup group_members_of(const store& st) {
  const store* s = &st;  // the store, not this frame's reference to it
  return [s](std::uint64_t group, const std::string& user) {
    std::string v;
    return s->read_state(keys::member_group(user, group), v).is_ok();
  };
}

std::optional<std::string> view_event(const event& e, const hash256& chain, const event_filter& f,
                                      const owner_lookup& owner, std::string* whole_cache, const member_lookup& member) {
  auto accounts = event_accounts(e);
  if (!matches(e, f, accounts)) return std::nullopt;
  if (!f.user) {
    if (!whole_cache) return event_to_json(e, chain);
    if (whole_cache->empty()) *whole_cache = event_to_json(e, chain);
    return *whole_cache;
  }
  std::vector<std::uint64_t> own;  // ascending, as `accounts`
  for (auto id : accounts)
    if (auto o = owner(id); o && *o == *f.user) own.push_back(id);
  bool issued = e.principal == *f.user;
  if (own.empty() && !issued && !document_reader(e, *f.user, member)) return std::nullopt;
  event copy = e;
  event_json_view view;
  view.redacted = true;
  if (!issued) {
    copy.principal.clear();
    copy.idempotency_key.clear();
    copy.request_id.clear();
    copy.detail.clear();
    copy.payload_hash = hash256{};
  }
  redact_effects(copy, own, *f.user, issued, view);
  return event_to_json(copy, chain, view);
}

status first_seq_at_or_after(const store& st, std::uint64_t head, std::int64_t ts_us, std::uint64_t& out) {
  std::uint64_t lo = 1, hi = head + 1;  // the answer is in [lo, hi]
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo) / 2;
    journal_entry j;
    if (auto s = st.read_event(mid, j); !s) return s;
    event e;
    if (auto s = decode_event(j.event_bytes, e); !s) return s;
    if (e.log_ts_us < ts_us) lo = mid + 1;
    else hi = mid;
  }
  out = lo;
  return status::ok();
}

std::optional<std::string> owner_cache::operator()(std::uint64_t account) {
  if (auto it = cache_.find(account); it != cache_.end()) return it->second;
  std::string v;
  account_record a;
  if (!st_.read_state(keys::account(account), v) || !decode(v, a)) return std::nullopt;
  if (cache_.size() >= max_) cache_.clear();  // bounded: start over rather than grow
  cache_.emplace(account, a.owner);
  return a.owner;
}

}  // namespace ledger::api
