// The read side the HTTP API serves history from (PostgreSQL read models),
// as an interface so api/ stays free of the database client. ledgerd plugs
// in an implementation over the projections' query pool.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/json_out.h"
#include "schemas/base.h"

namespace ledger::api {

struct read_query {
  enum class kind { history, transaction, statement, balance_at, by_reference, reconcile, reconciliation,
                    payment_requests, activity };
  kind what = kind::history;
  std::uint64_t id = 0;                          // wallet or transaction id
  std::map<std::string, std::string> params;     // validated query parameters
  std::optional<std::string> visible_to_owner;  // users see only what touches their wallets
  std::uint64_t min_seq = 0;                     // read-your-writes: wait until projected
  // Payment requests: writes a note or a reason (field, author, stored
  // ciphertext) into the list's JSON, decrypted (api/private_text.h).
  std::function<void(json_out&, std::string_view, std::string_view, std::string_view)> reveal;
};

// status: ok, not_found, invalid_argument (with a message naming the
// parameter), unavailable (database away or min_seq not reached in time).
using read_done = std::function<void(const status&, std::string json, std::uint64_t projected_seq)>;

class read_models {
 public:
  virtual ~read_models() = default;
  // Runs off the I/O threads; calls done exactly once, from any thread.
  // Returns false at once when the read side is saturated (answer 503).
  virtual bool run(read_query q, read_done done) = 0;
  // ok, or why the read models are not keeping up (e.g. a projection stuck
  // on one seq); reported by /readyz. Thread-safe.
  virtual status health() const { return status::ok(); }
};

}  // namespace ledger::api
