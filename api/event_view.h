// What a reader of the event routes asks for and may see: the filters of
// /v1/events (page, Server-Sent Events, WebSocket), read from the query
// once, and the one redaction every channel applies before rendering an
// event with schemas/event_json (the one encoder).
//
// Authorization: admin and auditor see every event whole. A user sees an
// event only when it touches one of its own wallets or the user issued the
// command; of everything else it sees nothing but wallet ids (see
// view_event).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/problem.h"
#include "engine/store.h"
#include "schemas/events.h"

namespace ledger::api {

inline constexpr std::size_t event_filter_values_max = 32;  // per filter list

struct event_filter {
  std::vector<std::uint64_t> wallets;  // any touched; empty: all
  std::vector<std::string> assets;     // any touched; empty: all
  std::vector<std::string> types;      // event_type_name; empty: all
  std::optional<std::string> principal;  // who issued the command (admin, auditor only)
  // Set for a user: only what touches its wallets (or it issued), redacted.
  std::optional<std::string> user;
};

// Where a read starts: after this seq (0: from the first event).
struct event_position {
  std::optional<std::uint64_t> after_seq;
  std::optional<std::int64_t> from_time_us;
};

// Reads the filter parameters (wallet, asset, type, principal; repeated or
// comma-separated) out of `query`, leaving the others there. A problem names
// the parameter and why. `role_may_filter_principal`: admin or auditor.
std::optional<problem> read_event_filter(header_list& query, bool role_may_filter_principal, event_filter& out);
// after_seq or from_time (not both), out of `query`.
std::optional<problem> read_event_position(header_list& query, event_position& out);

// The owner of an account, from committed state (nullopt: no such account).
using owner_lookup = std::function<std::optional<std::string>(std::uint64_t account)>;

// Whether `user` is now a member of document group `group` (committed
// state). A user sees the document events of its groups' documents.
using member_lookup = std::function<bool(std::uint64_t group, const std::string& user)>;
// A member lookup over a store (reads the member index; memberships change).
member_lookup group_members_of(const store& st);

// The one redaction: the event's JSON as the filter's reader may see it, or
// nullopt when the filter does not match or the reader may not see it. A
// user's view empties principal, idempotency_key, request_id and
// payload_hash unless the user issued the command, drops other accounts'
// openings, status changes and daily usage, and withholds other accounts'
// balances after the event (their ids and the amounts moved stay).
// `whole_cache` (optional) holds the event's whole rendering once made, so
// that many readers who see it whole render it once.
// A user also sees an upload or deletion of a document it owns or whose
// group it is a member of (`member`; none: owners only), redacted as above.
std::optional<std::string> view_event(const event& e, const hash256& chain, const event_filter& f,
                                      const owner_lookup& owner, std::string* whole_cache = nullptr,
                                      const member_lookup& member = {});

// The first seq at or after `ts_us` (head + 1 when none), by binary search
// over the journal's log times (which never decrease).
status first_seq_at_or_after(const store& st, std::uint64_t head, std::int64_t ts_us, std::uint64_t& out);

// An owner lookup over a store with a bounded cache (owners never change).
// One thread at a time.
class owner_cache {
 public:
  explicit owner_cache(const store& st, std::size_t entries_max = 65536) : st_(st), max_(entries_max) {}
  std::optional<std::string> operator()(std::uint64_t account);

 private:
  const store& st_;
  std::size_t max_;
  std::unordered_map<std::uint64_t, std::string> cache_;
};

}  // namespace ledger::api
