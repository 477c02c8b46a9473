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
    }
  }
  return o;
}

}  // namespace ledger
