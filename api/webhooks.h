// Payment providers calling the ledger: webhook accounts, their secrets,
// and what a verified event asks of the ledger.
//
// An account is one provider endpoint (a Stripe account's webhook endpoint,
// a Square subscription), configured as "NAME,PROVIDER,SECRETS_FILE[,URL]":
// NAME is 1 to 64 of [a-z0-9_-] and names the provider the deposits come
// through (money is taken from the system account clearing:NAME), PROVIDER
// is stripe or square, SECRETS_FILE holds one secret per line (two during a
// rotation; at most four), URL is the notification URL a Square
// subscription signs. The files are read at start and on reload() (SIGHUP);
// a file that fails to load keeps the account's previous secrets.
//
// Events applied (everything else is acknowledged and counted, not applied):
//   stripe payment_intent.succeeded       complete the pending deposit with the intent's id as
//                                         reference, or (none pending) record a completed deposit
//                                         of amount_received to metadata.wallet_id
//   stripe payment_intent.payment_failed  fail the pending deposit with the intent's id
//   stripe charge.refunded                refund the deposit of the charge's payment_intent up
//                                         to amount_refunded (cumulative: only the increase)
//   stripe payout.paid                    settle the withdrawal metadata.withdrawal_id
//   stripe payout.failed                  fail it (the funds go back), reason failure_message
//   square payment.updated COMPLETED      as payment_intent.succeeded (wallet in reference_id)
//   square payment.updated FAILED         fail the pending deposit with the payment's id
//   square payment.updated CANCELED       cancel it
//   square refund.updated COMPLETED       refund amount_money of the deposit with payment_id
// Each is a command whose idempotency key is "<provider>:<event id>" under
// the principal "webhook:<account>": one effect per event, however often
// and through however many API instances it arrives.
//
// Concurrency: the registry is shared by every request; settings() returns
// an immutable snapshot, counters are atomic.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::api {

struct webhook_account {
  std::string name;
  std::string provider;  // "stripe" or "square"
  std::string secrets_file;
  std::string notification_url;      // square
  std::vector<std::string> secrets;  // loaded from secrets_file
};

struct webhook_settings {
  std::vector<webhook_account> accounts;
  std::int64_t tolerance_s = 300;  // Stripe timestamps, either way
};

// Parses "NAME,PROVIDER,SECRETS_FILE[,NOTIFICATION_URL]"; an error names the part.
std::optional<std::string> parse_webhook_account(std::string_view spec, webhook_account& out);
// Reads the account's secrets file into `secrets`.
std::optional<std::string> load_webhook_secrets(webhook_account& a);

enum class webhook_result : std::uint8_t { applied, replayed, rejected, ignored, refused, malformed, failed };
constexpr std::size_t webhook_result_count = 7;
std::string_view to_string(webhook_result r);

class webhook_registry {
 public:
  explicit webhook_registry(webhook_settings s);
  std::shared_ptr<const webhook_settings> settings() const;
  // Re-reads every account's secrets file; keeps the old secrets of an
  // account whose file fails (and says which).
  std::optional<std::string> reload();
  void count(std::string_view account, webhook_result r);
  std::string render_metrics() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const webhook_settings> settings_;  // protected by mu_
  std::map<std::string, std::array<std::atomic<std::uint64_t>, webhook_result_count>, std::less<>> counts_;
};

// A provider's event, neutral of the provider.
struct provider_event {
  enum class kind : std::uint8_t { deposit, deposit_failed, deposit_cancelled, refund, payout_paid, payout_failed, other };
  std::string id;
  std::string type;  // the provider's event type (and status, for Square)
  kind what = kind::other;
  std::string object_id;  // payment intent, payout or payment id: the deposit's reference
  std::uint64_t wallet_id = 0;
  std::uint64_t withdrawal_id = 0;
  std::string currency;             // upper case
  std::uint64_t amount_minor = 0;   // in the currency's minor unit as the provider counts it
  std::string failure_reason;
  std::string payment_reference;  // refunds: the deposit's provider reference
  bool cumulative = false;        // refunds: amount is the total refunded so far
};

// Reads a verified body; an error says what is malformed.
std::optional<std::string> parse_stripe_event(std::string_view body, provider_event& out);
std::optional<std::string> parse_square_event(std::string_view body, provider_event& out);
// Decimal places of a currency's minor unit as the providers count amounts
// (ISO 4217, with Stripe's zero-decimal currencies).
int provider_currency_exponent(std::string_view currency);

}  // namespace ledger::api
