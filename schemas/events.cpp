#include "schemas/events.h"

#include <algorithm>

#include "base/hex.h"
#include "schemas/fields.h"

namespace ledger {

namespace {
constexpr std::uint8_t event_version = 1;

bool valid_chain(wallet_chain c) { return c >= wallet_chain::ethereum && c <= wallet_chain::stacks; }

bool valid_kind(money_kind k) { return k >= money_kind::deposit && k <= money_kind::refund; }
bool valid_status(money_status s) { return s >= money_status::pending && s <= money_status::cancelled; }

bool valid_enums(const effect& fx) {
  return std::visit(
      [](const auto& v) -> bool {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, account_opened>)
          return v.kind == account_kind::user || v.kind == account_kind::system;
        else if constexpr (std::is_same_v<T, account_status_changed>)
          return v.from >= account_status::active && v.from <= account_status::closed &&
                 v.to >= account_status::active && v.to <= account_status::closed;
        else if constexpr (std::is_same_v<T, pending_opened>)
          return v.kind == pending_kind::hold || v.kind == pending_kind::withdrawal;
        else if constexpr (std::is_same_v<T, pending_closed>)
          return v.resolution >= pending_resolution::captured && v.resolution <= pending_resolution::failed;
        else if constexpr (std::is_same_v<T, transaction_recorded>)
          return v.kind >= tx_kind::deposit && v.kind <= tx_kind::exchange;
        else if constexpr (std::is_same_v<T, fee_schedule_changed>)
          return valid_kind(v.kind) && v.basis_points <= basis_points_max;
        else if constexpr (std::is_same_v<T, money_tx_opened>)
          return valid_kind(v.kind) && valid_status(v.status);
        else if constexpr (std::is_same_v<T, money_tx_changed>)
          return valid_kind(v.kind) && valid_status(v.from) && valid_status(v.to);
        else if constexpr (std::is_same_v<T, quote_issued>)
          return v.side == fx_side::sell || v.side == fx_side::buy;
        else if constexpr (std::is_same_v<T, owner_tier_set> || std::is_same_v<T, tier_limits_set>)
          return v.tier <= owner_tier::full;
        else if constexpr (std::is_same_v<T, challenge_closed>)
          return v.resolution == challenge_resolution::expired;
        else if constexpr (std::is_same_v<T, session_closed>)
          return v.resolution == session_resolution::revoked || v.resolution == session_resolution::expired;
        else if constexpr (std::is_same_v<T, payment_request_closed>)
          return v.status >= payment_request_status::paid && v.status <= payment_request_status::cancelled;
        else if constexpr (std::is_same_v<T, owner_deleted>)
          return std::all_of(v.addresses.begin(), v.addresses.end(), [](const auto& a) { return valid_chain(a.chain); });
        else if constexpr (requires { v.chain; })
          return valid_chain(v.chain);
        else if constexpr (std::is_same_v<T, document_uploaded>)
          return to_string(v.category) != "unknown";
        else
          return true;
      },
      fx);
}
}  // namespace

std::string to_hex(const hash256& h) { return hex_lower(h.data(), h.size()); }

std::string_view to_string(account_status s) {
  switch (s) {
    case account_status::active: return "active";
    case account_status::frozen: return "frozen";
    case account_status::closed: return "closed";
  }
  return "unknown";
}

std::string_view to_string(pending_resolution r) {
  switch (r) {
    case pending_resolution::open: return "open";
    case pending_resolution::captured: return "captured";
    case pending_resolution::voided: return "voided";
    case pending_resolution::expired: return "expired";
    case pending_resolution::settled: return "settled";
    case pending_resolution::failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(session_resolution r) {
  switch (r) {
    case session_resolution::revoked: return "revoked";
    case session_resolution::expired: return "expired";
  }
  return "unknown";
}

std::string_view to_string(tx_kind k) {
  switch (k) {
    case tx_kind::deposit: return "deposit";
    case tx_kind::withdrawal: return "withdrawal";
    case tx_kind::transfer: return "transfer";
    case tx_kind::capture: return "capture";
    case tx_kind::reversal: return "reversal";
    case tx_kind::payment: return "payment";
    case tx_kind::refund: return "refund";
    case tx_kind::exchange: return "exchange";
  }
  return "unknown";
}

std::string encode_event(const event& e) {
  std::string out;
  out.reserve(256 + e.body.size());
  writer w(out);
  encoder enc{w};
  w.u8(event_version);
  w.u64(e.seq);
  w.i64(e.log_ts_us);
  w.u64(e.input_pos);
  enc(e.principal);
  enc(e.idempotency_key);
  enc(e.request_id);
  w.raw(std::string_view(reinterpret_cast<const char*>(e.payload_hash.data()), e.payload_hash.size()));
  enc(e.body);
  enc(e.status);
  enc(e.reason);
  enc(e.detail);
  w.u32(static_cast<std::uint32_t>(e.effects.size()));
  for (const auto& fx : e.effects) {
    w.u8(static_cast<std::uint8_t>(fx.index()));
    std::visit([&](const auto& v) { enc(v); }, fx);
  }
  return out;
}

namespace {
template <std::size_t I = 0>
bool make_effect(std::size_t index, effect& out) {
  if constexpr (I < std::variant_size_v<effect>) {
    if (index == I) {
      out.emplace<I>();
      return true;
    }
    return make_effect<I + 1>(index, out);
  } else {
    return false;
  }
}
}  // namespace

status decode_event(std::string_view bytes, event& e) {
  reader r(bytes);
  decoder dec{r};
  std::uint8_t version = r.u8();
  if (r.ok() && version != event_version) return status::corruption("unknown event version " + std::to_string(version));
  e.seq = r.u64();
  e.log_ts_us = r.i64();
  e.input_pos = r.u64();
  dec(e.principal);
  dec(e.idempotency_key);
  dec(e.request_id);
  auto h = r.raw(32);
  if (r.ok()) std::copy(h.begin(), h.end(), e.payload_hash.begin());
  dec(e.body);
  dec(e.status);
  dec(e.reason);
  dec(e.detail);
  std::uint32_t n = r.u32();
  if (!r.ok() || n > record_list_items_max) return status::corruption("event header truncated or malformed");
  if (e.status != event_status::accepted && e.status != event_status::rejected)
    return status::corruption("unknown event status");
  if (static_cast<std::uint16_t>(e.reason) > reason_max) return status::corruption("unknown reason code");
  // An event decoded over an earlier one keeps each effect of the same kind
  // at the same place and decodes over it (its strings keep their buffers).
  if (e.effects.size() > n) e.effects.resize(n);
  e.effects.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint8_t kind = r.u8();
    if (i == e.effects.size()) e.effects.emplace_back();
    effect& fx = e.effects[i];
    if (!r.ok() || (fx.index() != kind && !make_effect(kind, fx)))
      return status::corruption("unknown effect type " + std::to_string(kind));
    std::visit([&](auto& v) { dec(v); }, fx);
    if (!r.ok()) return status::corruption("effect truncated or malformed");
    if (!valid_enums(fx)) return status::corruption("effect has an out-of-range field");
  }
  if (!r.at_end()) return status::corruption("trailing bytes after event");
  return status::ok();
}

std::string encode_journal_record(std::string_view event_bytes, const hash256& chain) {
  std::string out;
  out.reserve(event_bytes.size() + chain.size());
  out.append(event_bytes);
  out.append(reinterpret_cast<const char*>(chain.data()), chain.size());
  return out;
}

status split_journal_record(std::string_view record, std::string_view& event_bytes, hash256& chain) {
  if (record.size() < chain.size()) return status::corruption("journal record shorter than its chain hash");
  event_bytes = record.substr(0, record.size() - chain.size());
  auto tail = record.substr(record.size() - chain.size());
  std::copy(tail.begin(), tail.end(), chain.begin());
  return status::ok();
}

command_type event_command_type(const event& e) {
  if (e.body.size() < 2) return command_type::none;
  return static_cast<command_type>(static_cast<unsigned char>(e.body[0]) |
                                   (static_cast<unsigned char>(e.body[1]) << 8));
}

}  // namespace ledger
