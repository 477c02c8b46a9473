// Payment providers' webhooks: POST /v1/webhooks/stripe and
// /v1/webhooks/square. No bearer token: a delivery is authenticated by its
// signature under one of the provider's configured accounts (api/webhooks.h),
// then applied as a command keyed by the provider's event id.
//
// Answers: 200 when the event is recorded (applied, replayed, rejected by the
// ledger, or a type the ledger does not act on: all final, so the provider
// stops retrying); 400 for a bad signature or a malformed verified body; 404
// when the provider has no account here; 503 when the ledger cannot take it
// now (the provider retries). A rejection by the ledger is answered 200 on
// purpose: it is stored under the event's key, and a retry would only get
// the same answer.
#include "api/commands.h"
#include "api/routes.h"
#include "api/webhook_signatures.h"
#include "api/webhooks.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

struct verified {
  const webhook_account* account = nullptr;
  std::shared_ptr<const webhook_settings> settings;  // keeps `account` alive
};

// The account whose secrets verify the delivery; nullopt after answering.
std::optional<verified> verify(exchange& x, webhook_registry& reg, std::string_view provider) {
  verified v{nullptr, reg.settings()};
  std::string why;
  bool any = false;
  std::int64_t now_s = x.svc.clk.now_us() / 1'000'000;
  for (const auto& a : v.settings->accounts) {
    if (a.provider != provider) continue;
    any = true;
    auto err = provider == "stripe"
                   ? verify_stripe_signature(x.req.header("stripe-signature"), x.req.body, a.secrets, now_s,
                                             v.settings->tolerance_s)
                   : verify_square_signature(x.req.header("x-square-hmacsha256-signature"), a.notification_url,
                                             x.req.body, a.secrets);
    if (!err) {
      v.account = &a;
      return v;
    }
    if (why.empty()) why = *err;
  }
  if (!any) {
    x.fail({404, "not-found", "no " + std::string(provider) + " webhook account is configured", "", {}});
    return std::nullopt;
  }
  reg.count("", webhook_result::refused);
  x.svc.log.write("warn", "webhook refused", {{"provider", std::string(provider)}, {"detail", why}, {"request_id", x.request_id}});
  x.fail({400, "webhook-signature-invalid", why, "", {}});
  return std::nullopt;
}

void answer_recorded(exchange& x, const provider_event& ev, bool applied, std::string_view detail,
                     const outcome* o = nullptr) {
  json_out j;
  j.begin_object().field("received", true).field("applied", applied).field("event_id", ev.id).field("event_type", ev.type);
  if (o) {
    j.field("seq", o->seq).field("replay", o->replay);
    if (o->transaction_id) j.field("transaction_id", o->transaction_id);
    if (!o->accepted()) j.field("reason", to_string(o->reason));
  }
  if (!detail.empty()) j.field("detail", detail);
  http_response r;
  r.body = j.end_object().take();
  x.finish(std::move(r));
}

// The provider's integer amount in the asset's minor unit; nullopt when the
// asset's scale cannot hold it exactly or it passes the amount limit.
std::optional<amount_t> to_asset_units(const provider_event& ev, int scale) {
  int exponent = provider_currency_exponent(ev.currency);
  amount_t v = static_cast<amount_t>(ev.amount_minor);
  for (int i = exponent; i < scale; ++i) v *= 10;
  for (int i = scale; i < exponent; ++i) {
    if (v % 10 != 0) return std::nullopt;
    v /= 10;
  }
  if (v <= 0 || v > amount_limit) return std::nullopt;
  return v;
}

// The command an event asks for; nullopt after answering.
std::optional<command_body> command_of(exchange& x, webhook_registry& reg, const webhook_account& a,
                                       const provider_event& ev) {
  if (ev.what == provider_event::kind::payout_paid) return settle_withdrawal_cmd{ev.withdrawal_id};
  if (ev.what == provider_event::kind::payout_failed)
    return fail_withdrawal_cmd{ev.withdrawal_id, ev.failure_reason.empty() ? "payout failed" : ev.failure_reason};
  if (ev.what == provider_event::kind::deposit_failed || ev.what == provider_event::kind::deposit_cancelled) {
    auto to = ev.what == provider_event::kind::deposit_failed ? money_status::failed : money_status::cancelled;
    return provider_payment_cmd{a.name, ev.object_id, to, 0, {}, 0, ev.failure_reason.empty() ? "payment failed" : ev.failure_reason};
  }
  auto scale = x.svc.state.asset_scale(ev.currency);
  if (!scale) {
    // The operator's to fix (register the asset): the provider retries meanwhile.
    reg.count(a.name, webhook_result::failed);
    x.svc.log.write("error", "webhook for an unregistered asset",
                    {{"account", a.name}, {"event_id", ev.id}, {"asset", ev.currency}, {"request_id", x.request_id}});
    x.fail({503, "asset-not-registered", "asset " + ev.currency + " is not registered in the ledger", "",
            {{"Retry-After", "60"}}});
    return std::nullopt;
  }
  auto amount = to_asset_units(ev, *scale);
  if (!amount) {
    reg.count(a.name, webhook_result::malformed);
    x.fail({422, "amount-not-representable", "the amount does not fit asset " + ev.currency + "'s scale", "", {}});
    return std::nullopt;
  }
  if (ev.what == provider_event::kind::refund)
    return provider_refund_cmd{a.name, ev.payment_reference, ev.object_id, *amount, ev.cumulative};
  return provider_payment_cmd{a.name, ev.object_id, money_status::completed, ev.wallet_id, ev.currency, *amount, {}};
}

void on_webhook(const exchange_ptr& x, std::string_view provider) {
  auto* reg = x->svc.config.webhooks;
  if (!reg) return x->fail({404, "not-found", "no " + std::string(provider) + " webhook account is configured", "", {}});
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  auto v = verify(*x, *reg, provider);
  if (!v) return;
  const webhook_account& a = *v->account;
  provider_event ev;
  auto err = provider == "stripe" ? parse_stripe_event(x->req.body, ev) : parse_square_event(x->req.body, ev);
  if (err) {
    reg->count(a.name, webhook_result::malformed);
    return x->fail({400, "webhook-malformed", *err, "", {}});
  }
  if (ev.what == provider_event::kind::other) {
    reg->count(a.name, webhook_result::ignored);
    x->svc.log.write("info", "webhook acknowledged, not applied", {{"account", a.name}, {"event_id", ev.id}, {"event_type", ev.type}});
    return answer_recorded(*x, ev, false, "this event type is acknowledged, not applied");
  }
  auto body = command_of(*x, *reg, a, ev);
  if (!body) return;
  command cmd{"webhook:" + a.name, std::string(provider) + ":" + ev.id, x->request_id, std::move(*body)};
  auto result = x->svc.ledger.submit({std::move(cmd)}, [x, reg, name = a.name, ev](std::vector<outcome>&& outs) {
    x->svc.dispatch([x, reg, name, ev, o = std::move(outs.at(0))] {
      if (!o.error.is_ok()) {
        reg->count(name, webhook_result::failed);
        return x->fail_status(o.error, fault::ledger);
      }
      auto r = o.replay ? webhook_result::replayed : o.accepted() ? webhook_result::applied : webhook_result::rejected;
      reg->count(name, r);
      answer_recorded(*x, ev, o.accepted(), o.accepted() ? "" : o.detail, &o);
    });
  });
  answer_append_failure(*x, result);
}

void on_stripe(const exchange_ptr& x, std::uint64_t) { on_webhook(x, "stripe"); }
void on_square(const exchange_ptr& x, std::uint64_t) { on_webhook(x, "square"); }

}  // namespace

void add_webhook_routes(router& r) {
  r.add("POST", "/v1/webhooks/stripe", "webhook_stripe", &on_stripe);
  r.add("POST", "/v1/webhooks/square", "webhook_square", &on_square);
}

}  // namespace ledger::api
