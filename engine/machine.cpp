#include "engine/machine.h"

#include <algorithm>

#include "engine/chain.h"

namespace ledger {

void machine::emit(event& e, const event_sink& sink) {
  e.seq = head_.seq + 1;
  std::string bytes = encode_event(e);
  hash256 chain = chain_next(head_.chain, bytes);
  state_.apply(e);
  head_.seq = e.seq;
  head_.chain = chain;
  head_.log_ts_us = e.log_ts_us;
  head_.input_pos = e.input_pos;
  sink(e, bytes, chain);
}

// The system events before a command: hold expiries, then one bounded
// event each for sessions and challenges, payment requests and quotes past
// their time (command_events_max counts them).
void machine::sweep(std::int64_t now, std::uint64_t input_pos, const event_sink& sink) {
  auto system_event = [&](auto&& decide) {
    event x;
    x.log_ts_us = now;
    x.input_pos = input_pos;
    decide(x);
    emit(x, sink);
  };
  for (auto id : state_.due_holds(now, expiries_per_command_max))
    system_event([&](event& x) { decide_hold_expiry(state_, id, decide_context{head_.seq + 1, now}, x); });
  auto sessions = state_.due_sessions(now, session_expiries_per_command_max);
  auto challenges = state_.due_challenges(now, session_expiries_per_command_max);
  if (!sessions.empty() || !challenges.empty())
    system_event([&](event& x) { decide_session_sweep(state_, sessions, challenges, x); });
  if (auto due = state_.due_payment_requests(now, payment_request_expiries_per_command_max); !due.empty())
    system_event([&](event& x) { decide_payment_request_expiry(state_, due, x); });
  if (auto forget = state_.quotes_to_forget(now); !forget.empty())
    system_event([&](event& x) { decide_quote_forgetting(state_, forget, x); });
}

execute_result machine::execute(const command& c, std::int64_t ts_us, std::uint64_t input_pos, const event_sink& sink) {
  std::int64_t now = ts_us < head_.log_ts_us ? head_.log_ts_us : ts_us;
  sweep(now, input_pos, sink);

  event e;
  e.log_ts_us = now;
  e.input_pos = input_pos;
  e.principal = c.principal;
  e.idempotency_key = c.idempotency_key;
  e.request_id = c.request_id;
  e.body = encode_body(c.body);
  e.payload_hash = sha256(e.body);

  if (auto err = validate(c)) {
    // Invalid commands are recorded (auditors see attempts) but not kept
    // under their key, and their envelope is clipped to the field limits so
    // the record stays within what any decoder accepts.
    e.principal.resize(std::min(e.principal.size(), owner_bytes_max));
    e.idempotency_key.resize(std::min(e.idempotency_key.size(), key_bytes_max));
    e.request_id.resize(std::min(e.request_id.size(), key_bytes_max));
    // A body no valid command can reach is not kept whole: the event must
    // stay within what every decoder accepts.
    if (e.body.size() > invalid_body_bytes_max) e.body.clear();
    e.status = event_status::rejected;
    e.reason = reason::invalid_argument;
    e.detail = err->field + ": " + err->message;
  } else if (auto prior = state_.idempotency(c.principal, c.idempotency_key)) {
    if (prior->payload_hash == e.payload_hash) {
      // Nothing is written, but the input position still advances so a
      // restart does not hand the same command back.
      head_.input_pos = input_pos > head_.input_pos ? input_pos : head_.input_pos;
      return {prior->seq, true};
    }
    e.status = event_status::rejected;
    e.reason = reason::idempotency_conflict;
    e.detail = "key was used with another payload by event " + std::to_string(prior->seq);
  } else {
    decide(state_, c.body, decide_context{head_.seq + 1, now}, e);
  }
  emit(e, sink);
  return {e.seq, false};
}

}  // namespace ledger
