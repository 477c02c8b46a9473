#include "engine/outcome.h"

namespace ledger {

outcome outcome_of(const event& e) {
  outcome o;
  o.seq = e.seq;
  o.log_ts_us = e.log_ts_us;
  o.result = e.status;
  o.reason = e.reason;
  o.detail = e.detail;
  for (const auto& fx : e.effects) {
    if (auto* b = std::get_if<balance_changed>(&fx)) {
      o.balances.push_back(*b);
    } else if (auto* t = std::get_if<transaction_recorded>(&fx)) {
      o.transaction_id = t->id;
    } else if (auto* a = std::get_if<account_opened>(&fx)) {
      o.account_id = a->id;
    } else if (auto* p = std::get_if<pending_opened>(&fx)) {
      o.pending_id = p->id;
    } else if (auto* so = std::get_if<session_opened>(&fx)) {
      o.session_id = so->id;
      o.session_expires_at_us = so->expires_at_us;
      o.session_owner = so->owner;
    } else if (auto* c = std::get_if<challenge_issued>(&fx)) {
      o.session_expires_at_us = c->expires_at_us;
    } else if (auto* m = std::get_if<money_tx_opened>(&fx)) {
      o.money_tx_id = m->id;
      o.money_tx_kind = m->kind;
      o.money_tx_status = m->status;
    } else if (auto* mc = std::get_if<money_tx_changed>(&fx)) {
      o.money_tx_id = mc->id;
      o.money_tx_kind = mc->kind;
      o.money_tx_status = mc->to;
    } else if (auto* q = std::get_if<quote_issued>(&fx)) {
      o.quote = *q;
    } else if (auto* pr = std::get_if<payment_request_opened>(&fx)) {
      o.payment_request_id = pr->id;
      o.payment_request_status_after = payment_request_status::pending;
    } else if (auto* pc = std::get_if<payment_request_closed>(&fx)) {
      o.payment_request_id = pc->id;
      o.payment_request_status_after = pc->status;
    } else if (std::holds_alternative<session_closed>(fx)) {
      ++o.sessions_closed;
    }
  }
  return o;
}

}  // namespace ledger
