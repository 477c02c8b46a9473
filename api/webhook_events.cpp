// Reading providers' event bodies (after their signature verified) into
// provider_event. Only the fields the ledger acts on are read; anything
// else in the body is ignored, as providers add fields over time.
#include <simdjson.h>

#include <charconv>

#include "api/webhooks.h"

namespace ledger::api {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::size_t id_bytes_max = 255;

std::optional<std::string> text(object o, const char* key, std::string& out, bool required = true) {
  std::string_view v;
  auto e = o[key].get(v);
  if (e == simdjson::NO_SUCH_FIELD && !required) return std::nullopt;
  if (e != simdjson::SUCCESS) return std::string(key) + " is missing or not a string";
  if (v.empty() || v.size() > id_bytes_max) return std::string(key) + " must be 1 to 255 bytes";
  out.assign(v);
  return std::nullopt;
}

std::optional<std::uint64_t> id_text(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

// metadata.<key> as a positive decimal id (Stripe metadata values are strings).
std::optional<std::string> metadata_id(object obj, const char* key, std::uint64_t& out) {
  std::string_view v;
  if (obj["metadata"][key].get(v) != simdjson::SUCCESS)
    return std::string("data.object.metadata.") + key + " is missing or not a string";
  auto id = id_text(v);
  if (!id) return std::string("data.object.metadata.") + key + " must be a positive decimal id";
  out = *id;
  return std::nullopt;
}

std::optional<std::string> money(object obj, const char* amount_key, const char* currency_key, provider_event& out) {
  std::int64_t amount = 0;
  if (obj[amount_key].get(amount) != simdjson::SUCCESS || amount <= 0)
    return std::string(amount_key) + " must be a positive integer";
  std::string_view currency;
  if (obj[currency_key].get(currency) != simdjson::SUCCESS || currency.size() != 3)
    return std::string(currency_key) + " must be a 3-letter currency code";
  out.amount_minor = static_cast<std::uint64_t>(amount);
  out.currency.assign(currency);
  for (auto& c : out.currency)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return std::nullopt;
}

// charge.refunded: the charge's payment intent names the deposit; its
// amount_refunded is the total refunded so far.
std::optional<std::string> stripe_refund(object obj, provider_event& out) {
  out.what = provider_event::kind::refund;
  out.cumulative = true;
  if (auto e = text(obj, "payment_intent", out.payment_reference)) return "data.object." + *e;
  if (auto e = money(obj, "amount_refunded", "currency", out)) return "data.object." + *e;
  // One refund per total reached: the key stays the same on a redelivery.
  out.object_id += ":" + std::to_string(out.amount_minor);
  return std::nullopt;
}

std::optional<std::string> stripe_object(object obj, provider_event& out) {
  if (auto e = text(obj, "id", out.object_id)) return "data.object." + *e;
  if (out.type == "payment_intent.succeeded") {
    out.what = provider_event::kind::deposit;
    if (auto e = metadata_id(obj, "wallet_id", out.wallet_id)) return e;
    return money(obj, "amount_received", "currency", out);
  }
  if (out.type == "payment_intent.payment_failed") {
    out.what = provider_event::kind::deposit_failed;
    std::string_view reason;
    if (obj["last_payment_error"]["message"].get(reason) == simdjson::SUCCESS) out.failure_reason.assign(reason.substr(0, 250));
    return std::nullopt;
  }
  if (out.type == "charge.refunded") return stripe_refund(obj, out);
  if (out.type == "payout.paid" || out.type == "payout.failed") {
    out.what = out.type == "payout.paid" ? provider_event::kind::payout_paid : provider_event::kind::payout_failed;
    if (auto e = metadata_id(obj, "withdrawal_id", out.withdrawal_id)) return e;
    std::string_view reason;
    if (obj["failure_message"].get(reason) == simdjson::SUCCESS) out.failure_reason.assign(reason.substr(0, 500));
    if (out.failure_reason.empty() && obj["failure_code"].get(reason) == simdjson::SUCCESS)
      out.failure_reason.assign(reason.substr(0, 500));
    return std::nullopt;
  }
  return std::nullopt;
}

// refund.updated: a COMPLETED refund of the deposit with payment_id.
std::optional<std::string> square_refund(object root, provider_event& out) {
  object refund;
  if (root["data"]["object"]["refund"].get(refund) != simdjson::SUCCESS)
    return "data.object.refund is missing or not an object";
  std::string status;
  if (auto e = text(refund, "status", status)) return "data.object.refund." + *e;
  out.type += " " + status;
  if (status != "COMPLETED") return std::nullopt;
  out.what = provider_event::kind::refund;
  if (auto e = text(refund, "id", out.object_id)) return "data.object.refund." + *e;
  if (auto e = text(refund, "payment_id", out.payment_reference)) return "data.object.refund." + *e;
  object amount_money;
  if (refund["amount_money"].get(amount_money) != simdjson::SUCCESS)
    return "data.object.refund.amount_money is missing or not an object";
  if (auto e = money(amount_money, "amount", "currency", out)) return "data.object.refund.amount_money." + *e;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_stripe_event(std::string_view body, provider_event& out) {
  simdjson::dom::parser parser;
  object root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return "the body is not a JSON object";
  out = provider_event{};
  if (auto e = text(root, "id", out.id)) return e;
  if (auto e = text(root, "type", out.type)) return e;
  object obj;
  if (root["data"]["object"].get(obj) != simdjson::SUCCESS) return "data.object is missing or not an object";
  if (out.type != "payment_intent.succeeded" && out.type != "payment_intent.payment_failed" &&
      out.type != "charge.refunded" && out.type != "payout.paid" && out.type != "payout.failed")
    return std::nullopt;  // acknowledged, not applied
  return stripe_object(obj, out);
}

std::optional<std::string> parse_square_event(std::string_view body, provider_event& out) {
  simdjson::dom::parser parser;
  object root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return "the body is not a JSON object";
  out = provider_event{};
  if (auto e = text(root, "event_id", out.id)) return e;
  if (auto e = text(root, "type", out.type)) return e;
  if (out.type == "refund.updated") return square_refund(root, out);
  if (out.type != "payment.updated") return std::nullopt;
  object payment;
  if (root["data"]["object"]["payment"].get(payment) != simdjson::SUCCESS)
    return "data.object.payment is missing or not an object";
  std::string status;
  if (auto e = text(payment, "status", status)) return "data.object.payment." + *e;
  out.type += " " + status;
  if (status == "FAILED" || status == "CANCELED") {
    out.what = status == "FAILED" ? provider_event::kind::deposit_failed : provider_event::kind::deposit_cancelled;
    out.failure_reason = "square payment " + status;
    if (auto e = text(payment, "id", out.object_id)) return "data.object.payment." + *e;
    return std::nullopt;
  }
  if (status != "COMPLETED") return std::nullopt;
  out.what = provider_event::kind::deposit;
  if (auto e = text(payment, "id", out.object_id)) return "data.object.payment." + *e;
  std::string reference;
  if (auto e = text(payment, "reference_id", reference)) return "data.object.payment." + *e;
  auto wallet = id_text(reference);
  if (!wallet) return "data.object.payment.reference_id must be the wallet id (a positive decimal id)";
  out.wallet_id = *wallet;
  object amount_money;
  if (payment["amount_money"].get(amount_money) != simdjson::SUCCESS)
    return "data.object.payment.amount_money is missing or not an object";
  if (auto e = money(amount_money, "amount", "currency", out)) return "data.object.payment.amount_money." + *e;
  return std::nullopt;
}

}  // namespace ledger::api
