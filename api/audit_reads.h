// What the auditor routes need beyond the store, as an interface so api/
// does not depend on the audit tools: ledgerd plugs in an implementation
// over ledger_audit's point-in-time state and chain verification (the code
// behind `ledgerctl audit state` and `ledgerctl audit verify`).
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

// What a verification of the journal from seq 1 found. A journal that does
// not verify is a finding, not an operating error: verified is false, and
// bad_seq (0 when no single seq is to blame) and problem say why.
struct audit_verify_result {
  bool verified = false;
  std::uint64_t events = 0;    // events checked
  std::uint64_t last_seq = 0;  // the last seq verified
  std::string head_hash;       // its chain hash, hex
  std::uint64_t checkpoints_checked = 0;
  std::uint64_t bad_seq = 0;
  std::string problem;
};

// status: ok (then `r` holds the finding), or an operating error.
using audit_verify_done = std::function<void(const status&, audit_verify_result r)>;

class audit_reads {
 public:
  virtual ~audit_reads() = default;
  // Rebuilds the state off the I/O threads; calls done once, from any
  // thread. False at once when too many rebuilds are running (answer 503).
  virtual bool state(audit_state_query q, audit_state_done done) = 0;
  // Checks every chain link and checkpoint digest from seq 1 to seq_max
  // (at most the head) off the I/O threads; calls done once, from any
  // thread. False at once while another verification runs (answer 503):
  // one at a time, none queued.
  virtual bool verify(std::uint64_t seq_max, audit_verify_done done) = 0;
};

}  // namespace ledger::api
