// The deterministic ledger machine: one command in, events out.
//
// execute() sweeps holds whose expiry has passed (system events), checks the
// idempotency key, validates, decides and applies, chaining every event onto
// the hash chain. It does no I/O but reading state through state_kv; the
// caller persists what the sink receives. Both the engine's writer and the
// seeded simulation drive this same class.
//
// Thread: single-threaded; owned by the writer.
#pragma once

#include <functional>

#include "engine/decide.h"
#include "engine/state.h"

namespace ledger {

// Where the log is: the last event applied and the last input consumed.
struct ledger_head {
  std::uint64_t seq = 0;
  hash256 chain{};
  std::int64_t log_ts_us = 0;
  std::uint64_t input_pos = 0;  // last command log position consumed (0: none)
};

// Receives every event with its canonical bytes and chain hash, in order.
using event_sink = std::function<void(const event&, std::string_view event_bytes, const hash256& chain)>;

// Bodies of invalid commands larger than this are recorded without their body.
inline constexpr std::size_t invalid_body_bytes_max = 16 * 1024;

// Hold expiries handled before one command, at most; the rest wait for the next.
inline constexpr std::size_t expiries_per_command_max = 1024;

// Events one command may produce at most: the hold expiries, one session
// sweep event (sessions and challenges past their expiry), one payment
// request expiry event, one quote forgetting event, its own event.
inline constexpr std::size_t command_events_max = expiries_per_command_max + 4;

struct execute_result {
  std::uint64_t seq = 0;  // the command's own event, or the replayed one
  bool replay = false;    // same key and payload seen before: nothing written
};

class machine {
 public:
  machine(state_kv& kv, event_lookup lookup, ledger_head head) : state_(kv, std::move(lookup)), head_(head) {}

  ledger_state& state() { return state_; }
  const ledger_head& head() const { return head_; }

  // `ts_us` is the log time of the command; time never runs backwards inside
  // the ledger, so an earlier stamp is raised to the last one.
  execute_result execute(const command& c, std::int64_t ts_us, std::uint64_t input_pos, const event_sink& sink);
  // Writes batched state (changed accounts) through state_kv.
  void flush() { state_.flush(); }

 private:
  void emit(event& e, const event_sink& sink);
  void sweep(std::int64_t now, std::uint64_t input_pos, const event_sink& sink);

  ledger_state state_;
  ledger_head head_;
};

}  // namespace ledger
