// What the auditor routes need beyond the store, as an interface so api/
// does not depend on the audit tools: ledgerd plugs in an implementation
// over ledger_audit's point-in-time state (the code behind `ledgerctl audit
// state`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "schemas/base.h"

namespace ledger::api {

struct audit_state_query {
  std::optional<std::uint64_t> seq;     // the state after this event
  std::optional<std::int64_t> at_us;    // or after the last event at or before this log time
  std::optional<std::uint64_t> wallet;  // only this account's rows
};

// status: ok, or an operating error; `ndjson` is the state as `ledgerctl
// audit state --format ndjson` writes it.
using audit_state_done = std::function<void(const status&, std::string ndjson)>;

class audit_reads {
 public:
  virtual ~audit_reads() = default;
  // Rebuilds the state off the I/O threads; calls done once, from any
  // thread. False at once when too many rebuilds are running (answer 503).
  virtual bool state(audit_state_query q, audit_state_done done) = 0;
};

}  // namespace ledger::api
