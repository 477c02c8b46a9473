#include "schemas/commands.h"

#include "schemas/fields.h"
#include "schemas/session_validate.h"

namespace ledger {

namespace {

constexpr std::uint8_t command_version = 1;

// The newest body layout of each type (docs/journal.md): deposits,
// withdrawals and transfers are at 2 (a description was appended); every
// other type is at 1. Decoding accepts every version up to the newest.
std::uint8_t body_version(command_type t) {
  switch (t) {
    case command_type::deposit:
    case command_type::withdraw:
    case command_type::transfer: return 2;
    default: return 1;
  }
}

template <std::size_t I = 0>
bool make_body(command_type t, command_body& out) {
  if constexpr (I < std::variant_size_v<command_body>) {
    using T = std::variant_alternative_t<I, command_body>;
    if (T::type == t) {
      out.emplace<I>();
      return true;
    }
    return make_body<I + 1>(t, out);
  } else {
    return false;
  }
}

}  // namespace

std::string_view to_string(command_type t) {
  switch (t) {
    case command_type::none: return "none";
    case command_type::register_asset: return "register_asset";
    case command_type::open_account: return "open_account";
    case command_type::deposit: return "deposit";
    case command_type::withdraw: return "withdraw";
    case command_type::settle_withdrawal: return "settle_withdrawal";
    case command_type::fail_withdrawal: return "fail_withdrawal";
    case command_type::transfer: return "transfer";
    case command_type::hold: return "hold";
    case command_type::capture: return "capture";
    case command_type::void_hold: return "void_hold";
    case command_type::reverse: return "reverse";
    case command_type::freeze_account: return "freeze_account";
    case command_type::unfreeze_account: return "unfreeze_account";
    case command_type::close_account: return "close_account";
    case command_type::set_fee_schedule: return "set_fee_schedule";
    case command_type::remove_fee_schedule: return "remove_fee_schedule";
    case command_type::open_deposit: return "open_deposit";
    case command_type::change_money_status: return "change_money_status";
    case command_type::pay: return "pay";
    case command_type::refund: return "refund";
    case command_type::provider_payment: return "provider_payment";
    case command_type::provider_refund: return "provider_refund";
    case command_type::register_payout_destination: return "register_payout_destination";
    case command_type::upload_document: return "upload_document";
    case command_type::delete_document: return "delete_document";
    case command_type::set_group_members: return "set_group_members";
    case command_type::set_rate: return "set_rate";
    case command_type::quote: return "quote";
    case command_type::exchange: return "exchange";
    case command_type::set_fx_limit: return "set_fx_limit";
    case command_type::set_owner_tier: return "set_owner_tier";
    case command_type::set_tier_limits: return "set_tier_limits";
    case command_type::issue_challenge: return "issue_challenge";
    case command_type::open_session: return "open_session";
    case command_type::revoke_session: return "revoke_session";
    case command_type::revoke_sessions: return "revoke_sessions";
    case command_type::link_wallet: return "link_wallet";
    case command_type::unlink_wallet: return "unlink_wallet";
    case command_type::record_auth_failure: return "record_auth_failure";
    case command_type::create_payment_request: return "create_payment_request";
    case command_type::pay_payment_request: return "pay_payment_request";
    case command_type::decline_payment_request: return "decline_payment_request";
    case command_type::cancel_payment_request: return "cancel_payment_request";
    case command_type::export_documents: return "export_documents";
    case command_type::delete_owner: return "delete_owner";
  }
  return "unknown";
}

std::string_view to_string(money_kind k) {
  switch (k) {
    case money_kind::deposit: return "deposit";
    case money_kind::withdrawal: return "withdrawal";
    case money_kind::transfer: return "transfer";
    case money_kind::payment: return "payment";
    case money_kind::refund: return "refund";
  }
  return "unknown";
}

std::string_view to_string(money_status s) {
  switch (s) {
    case money_status::pending: return "pending";
    case money_status::processing: return "processing";
    case money_status::completed: return "completed";
    case money_status::failed: return "failed";
    case money_status::cancelled: return "cancelled";
  }
  return "unknown";
}

namespace {
bool kind_ok(money_kind k) { return k >= money_kind::deposit && k <= money_kind::refund; }
bool status_ok(money_status s) { return s >= money_status::pending && s <= money_status::cancelled; }

// Enum fields of the money-status commands lie in their domain.
bool money_body_in_domain(const command_body& b) {
  return std::visit(
      [](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, change_money_status_cmd>)
          return kind_ok(v.kind) && status_ok(v.to);
        else if constexpr (std::is_same_v<T, set_fee_schedule_cmd> || std::is_same_v<T, remove_fee_schedule_cmd>)
          return kind_ok(v.kind);
        else if constexpr (std::is_same_v<T, provider_payment_cmd>)
          return status_ok(v.outcome);
        else
          return true;
      },
      b);
}
}  // namespace

command_type type_of(const command_body& body) {
  return std::visit([](const auto& b) { return std::decay_t<decltype(b)>::type; }, body);
}

std::string encode_body(const command_body& body) {
  std::string out;
  writer w(out);
  auto t = type_of(body);
  w.u16(static_cast<std::uint16_t>(t));
  w.u8(body_version(t));
  encoder e{w, body_version(t)};
  std::visit([&](const auto& b) { e(b); }, body);
  return out;
}

status decode_body(std::string_view bytes, command_body& out) {
  reader r(bytes);
  auto t = static_cast<command_type>(r.u16());
  std::uint8_t version = r.u8();
  if (!r.ok()) return status::corruption("command body truncated");
  if (!make_body(t, out)) return status::corruption("unknown command type " + std::to_string(static_cast<int>(t)));
  if (version == 0 || version > body_version(t))
    return status::corruption("unknown command body version " + std::to_string(version));
  decoder d{r, version};
  std::visit([&](auto& b) { d(b); }, out);
  if (!r.ok()) return status::corruption("command body truncated or malformed");
  if (!r.at_end()) return status::corruption("trailing bytes after command body");
  if (auto* o = std::get_if<open_account_cmd>(&out);
      o && o->kind != account_kind::user && o->kind != account_kind::system)
    return status::corruption("unknown account kind");
  if (!session_body_in_domain(out)) return status::corruption("unknown wallet chain");
  if (!money_body_in_domain(out)) return status::corruption("unknown transaction kind or status");
  if (auto* u = std::get_if<upload_document_cmd>(&out); u && to_string(u->category) == "unknown")
    return status::corruption("unknown document category");
  if (!fx_body_in_domain(out)) return status::corruption("unknown exchange side or owner tier");
  return status::ok();
}

std::string encode_command(const command& c) {
  std::string out;
  writer w(out);
  w.u8(command_version);
  w.bytes(c.principal);
  w.bytes(c.idempotency_key);
  w.bytes(c.request_id);
  w.bytes(encode_body(c.body));
  return out;
}

status decode_command(std::string_view bytes, command& out) {
  reader r(bytes);
  std::uint8_t version = r.u8();
  if (r.ok() && version != command_version)
    return status::corruption("unknown command version " + std::to_string(version));
  out.principal = r.bytes();
  out.idempotency_key = r.bytes();
  out.request_id = r.bytes();
  std::string body = r.bytes();
  if (!r.ok()) return status::corruption("command truncated");
  if (!r.at_end()) return status::corruption("trailing bytes after command");
  return decode_body(body, out.body);
}

namespace {

std::optional<field_error> check_text(const char* field, const std::string& v, std::size_t max, bool required) {
  if (required && v.empty()) return field_error{field, "must not be empty"};
  if (v.size() > max) return field_error{field, "longer than " + std::to_string(max) + " bytes"};
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return field_error{field, "must not contain control characters"};
  return std::nullopt;
}

std::optional<field_error> check_amount(const char* field, amount_t v, bool zero_ok) {
  if (v < 0 || (!zero_ok && v == 0)) return field_error{field, zero_ok ? "must not be negative" : "must be positive"};
  if (v > amount_limit) return field_error{field, "is too large"};
  return std::nullopt;
}

std::optional<field_error> check_id(const char* field, std::uint64_t v) {
  if (v == 0) return field_error{field, "is required"};
  return std::nullopt;
}

#define LEDGER_CHECK(expr) \
  if (auto e_ = (expr)) return e_

// Reference, description and metadata of a money movement.
std::optional<field_error> check_story(const std::string& reference, const std::string& description,
                                       const std::string& metadata) {
  LEDGER_CHECK(check_text("reference", reference, reference_bytes_max, false));
  LEDGER_CHECK(check_text("description", description, description_bytes_max, false));
  if (metadata.size() > metadata_bytes_max) return field_error{"metadata", "larger than 4096 bytes"};
  return std::nullopt;
}
std::optional<field_error> validate_body(const register_asset_cmd& c) {
  LEDGER_CHECK(check_text("code", c.code, asset_code_bytes_max, true));
  for (char ch : c.code)
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
      return field_error{"code", "may contain only A-Z, 0-9, '_' and '-'"};
  if (c.scale > scale_max) return field_error{"scale", "must be between 0 and 18"};
  LEDGER_CHECK(check_amount("min_amount", c.min_amount, false));
  LEDGER_CHECK(check_amount("max_amount", c.max_amount, false));
  if (c.max_amount < c.min_amount) return field_error{"max_amount", "must not be below min_amount"};
  return std::nullopt;
}
std::optional<field_error> validate_body(const open_account_cmd& c) {
  if (c.kind != account_kind::user && c.kind != account_kind::system) return field_error{"kind", "must be user or system"};
  LEDGER_CHECK(check_text("owner", c.owner, owner_bytes_max, true));
  if (c.kind == account_kind::system && !c.assets.empty())
    return field_error{"assets", "system accounts hold every asset; list none"};
  if (c.kind == account_kind::user && c.assets.empty()) return field_error{"assets", "a wallet needs at least one asset"};
  if (c.assets.size() > wallet_assets_max) return field_error{"assets", "more than 32 assets"};
  for (std::size_t i = 0; i < c.assets.size(); ++i) {
    const auto& a = c.assets[i];
    LEDGER_CHECK(check_text("assets.asset", a.asset, asset_code_bytes_max, true));
    LEDGER_CHECK(check_amount("assets.overdraft_limit", a.overdraft_limit, true));
    LEDGER_CHECK(check_amount("assets.daily_debit_limit", a.daily_debit_limit, true));
    for (std::size_t j = 0; j < i; ++j)
      if (c.assets[j].asset == a.asset) return field_error{"assets", "asset " + a.asset + " listed twice"};
  }
  return std::nullopt;
}
std::optional<field_error> validate_body(const deposit_cmd& c) {
  LEDGER_CHECK(check_id("wallet", c.wallet));
  LEDGER_CHECK(check_text("asset", c.asset, asset_code_bytes_max, true));
  LEDGER_CHECK(check_amount("amount", c.amount, false));
  // The provider's clearing account is "clearing:<provider>", itself an owner name.
  LEDGER_CHECK(check_text("provider", c.provider, owner_bytes_max - 9, true));
  return check_story(c.reference, c.description, c.metadata);
}
std::optional<field_error> validate_body(const withdraw_cmd& c) {
  LEDGER_CHECK(check_id("wallet", c.wallet));
  LEDGER_CHECK(check_text("asset", c.asset, asset_code_bytes_max, true));
  LEDGER_CHECK(check_amount("amount", c.amount, false));
  return check_story(c.reference, c.description, c.metadata);
}
std::optional<field_error> validate_body(const settle_withdrawal_cmd& c) { return check_id("withdrawal_id", c.withdrawal_id); }
std::optional<field_error> validate_body(const fail_withdrawal_cmd& c) {
  LEDGER_CHECK(check_id("withdrawal_id", c.withdrawal_id));
  return check_text("reason", c.reason, reference_bytes_max, false);
}
std::optional<field_error> validate_body(const transfer_cmd& c) {
  LEDGER_CHECK(check_id("from", c.from));
  LEDGER_CHECK(check_id("to", c.to));
  LEDGER_CHECK(check_text("asset", c.asset, asset_code_bytes_max, true));
  LEDGER_CHECK(check_amount("amount", c.amount, false));
  LEDGER_CHECK(check_amount("fee", c.fee, true));
  return check_story(c.reference, c.description, c.metadata);
}
std::optional<field_error> validate_body(const hold_cmd& c) {
  LEDGER_CHECK(check_id("wallet", c.wallet));
  LEDGER_CHECK(check_id("to", c.to));
  LEDGER_CHECK(check_text("asset", c.asset, asset_code_bytes_max, true));
  LEDGER_CHECK(check_amount("amount", c.amount, false));
  if (c.expires_at_us <= 0) return field_error{"expires_at", "is required"};
  LEDGER_CHECK(check_text("reference", c.reference, reference_bytes_max, false));
  if (c.metadata.size() > metadata_bytes_max) return field_error{"metadata", "larger than 4096 bytes"};
  return std::nullopt;
}
std::optional<field_error> validate_body(const capture_cmd& c) {
  LEDGER_CHECK(check_id("hold_id", c.hold_id));
  return check_amount("amount", c.amount, true);
}
std::optional<field_error> validate_body(const void_hold_cmd& c) { return check_id("hold_id", c.hold_id); }
std::optional<field_error> validate_body(const reverse_cmd& c) {
  LEDGER_CHECK(check_id("transaction_id", c.transaction_id));
  return check_text("reason", c.reason, reference_bytes_max, false);
}
std::optional<field_error> check_asset_code(const std::string& v) {
  return check_text("asset", v, asset_code_bytes_max, true);
}
bool fee_kind(money_kind k) {
  return k == money_kind::transfer || k == money_kind::withdrawal || k == money_kind::payment;
}
std::optional<field_error> validate_body(const set_fee_schedule_cmd& c) {
  LEDGER_CHECK(check_asset_code(c.asset));
  if (!fee_kind(c.kind)) return field_error{"kind", "must be transfer, withdrawal or payment"};
  LEDGER_CHECK(check_amount("fixed", c.fixed, true));
  if (c.basis_points > basis_points_max) return field_error{"basis_points", "must be between 0 and 10000"};
  LEDGER_CHECK(check_amount("minimum", c.minimum, true));
  LEDGER_CHECK(check_amount("maximum", c.maximum, true));
  if (c.maximum < c.minimum) return field_error{"maximum", "must not be below minimum"};
  return std::nullopt;
}
std::optional<field_error> validate_body(const remove_fee_schedule_cmd& c) {
  LEDGER_CHECK(check_asset_code(c.asset));
  if (!fee_kind(c.kind)) return field_error{"kind", "must be transfer, withdrawal or payment"};
  return std::nullopt;
}
std::optional<field_error> validate_body(const open_deposit_cmd& c) {
  LEDGER_CHECK(check_id("wallet", c.wallet));
  LEDGER_CHECK(check_asset_code(c.asset));
  LEDGER_CHECK(check_amount("amount", c.amount, false));
  LEDGER_CHECK(check_text("provider", c.provider, owner_bytes_max - 9, true));
  return check_story(c.reference, c.description, c.metadata);
}
std::optional<field_error> validate_body(const change_money_status_cmd& c) {
  LEDGER_CHECK(check_id("id", c.id));
  if (!kind_ok(c.kind) || c.kind == money_kind::transfer)
    return field_error{"kind", "must be deposit, withdrawal, payment or refund"};
  if (!status_ok(c.to) || c.to == money_status::pending)
    return field_error{"status", "must be processing, completed, failed or cancelled"};
  return check_text("reason", c.reason, reference_bytes_max, false);
}
std::optional<field_error> validate_body(const pay_cmd& c) {
  LEDGER_CHECK(check_id("wallet", c.wallet));
  LEDGER_CHECK(check_id("merchant", c.merchant));
  LEDGER_CHECK(check_asset_code(c.asset));
  LEDGER_CHECK(check_amount("amount", c.amount, false));
  return check_story(c.reference, c.description, c.metadata);
}
std::optional<field_error> validate_body(const refund_cmd& c) {
  LEDGER_CHECK(check_id("payment_id", c.payment_id));
  LEDGER_CHECK(check_amount("amount", c.amount, false));
  return check_story(c.reference, c.description, c.metadata);
}
std::optional<field_error> validate_body(const provider_payment_cmd& c) {
  LEDGER_CHECK(check_text("provider", c.provider, owner_bytes_max - 9, true));
  LEDGER_CHECK(check_text("reference", c.reference, reference_bytes_max, true));
  if (c.outcome != money_status::completed && c.outcome != money_status::failed &&
      c.outcome != money_status::cancelled)
    return field_error{"outcome", "must be completed, failed or cancelled"};
  if (c.outcome == money_status::completed) {
    LEDGER_CHECK(check_id("wallet", c.wallet));
    LEDGER_CHECK(check_asset_code(c.asset));
    LEDGER_CHECK(check_amount("amount", c.amount, false));
  } else {
    LEDGER_CHECK(check_text("asset", c.asset, asset_code_bytes_max, false));
    LEDGER_CHECK(check_amount("amount", c.amount, true));
  }
  return check_text("reason", c.reason, reference_bytes_max, false);
}
std::optional<field_error> validate_body(const provider_refund_cmd& c) {
  LEDGER_CHECK(check_text("provider", c.provider, owner_bytes_max - 9, true));
  LEDGER_CHECK(check_text("payment_reference", c.payment_reference, reference_bytes_max, true));
  LEDGER_CHECK(check_text("refund_reference", c.refund_reference, reference_bytes_max, true));
  return check_amount("amount", c.amount, false);
}
std::optional<field_error> validate_body(const freeze_account_cmd& c) { return check_id("account", c.account); }
std::optional<field_error> validate_body(const unfreeze_account_cmd& c) { return check_id("account", c.account); }
std::optional<field_error> validate_body(const close_account_cmd& c) { return check_id("account", c.account); }

}  // namespace

std::optional<field_error> validate(const command& c) {
  LEDGER_CHECK(check_text("principal", c.principal, owner_bytes_max, true));
  LEDGER_CHECK(check_text("idempotency_key", c.idempotency_key, key_bytes_max, true));
  LEDGER_CHECK(check_text("request_id", c.request_id, key_bytes_max, false));
  return std::visit([](const auto& b) { return validate_body(b); }, c.body);
}

}  // namespace ledger
