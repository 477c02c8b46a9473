// What a client learns about its command: the outcome, derived from the
// command's event (or, for an idempotent replay, from the stored event).
#pragma once

#include <optional>

#include "schemas/events.h"

namespace ledger {

struct outcome {
  // An operating error means the command was not applied and may be retried
  // with the same key (the engine stopped, the store failed, the queue was full).
  status error;
  bool replay = false;  // the stored outcome of an earlier command with this key
  std::uint64_t seq = 0;
  std::int64_t log_ts_us = 0;
  event_status result = event_status::rejected;
  ledger::reason reason = reason::none;
  std::string detail;
  std::uint64_t transaction_id = 0;  // posted money movement recorded by the command
  std::uint64_t account_id = 0;      // account opened by the command
  std::uint64_t pending_id = 0;      // hold or withdrawal opened by the command
  std::uint64_t session_id = 0;      // wallet session opened by the command
  std::string session_owner;         // the owner that session belongs to
  std::int64_t session_expires_at_us = 0;  // of the session opened, or of the challenge issued
  std::uint32_t sessions_closed = 0;       // sessions revoked by the command
  std::vector<balance_changed> balances;
  // The deposit, withdrawal, payment or refund the command opened or moved
  // (0: none), and its status after.
  std::uint64_t money_tx_id = 0;
  money_kind money_tx_kind = money_kind::deposit;
  money_status money_tx_status = money_status::pending;
  // The payment request the command opened or closed (0: none), and its status after.
  std::uint64_t payment_request_id = 0;
  payment_request_status payment_request_status_after = payment_request_status::pending;

  // The quote the command issued (POST /v1/quotes answers with its terms).
  std::optional<quote_issued> quote;

  bool accepted() const { return error.is_ok() && result == event_status::accepted; }
};

outcome outcome_of(const event& e);

}  // namespace ledger
