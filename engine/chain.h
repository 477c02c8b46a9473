// SHA-256 helpers for the hash chain, payload hashes and state digests.
#pragma once

#include <string_view>

#include "schemas/events.h"

namespace ledger {

hash256 sha256(std::string_view bytes);
// SHA-256(previous || event_bytes): the chain hash of an event.
hash256 chain_next(const hash256& previous, std::string_view event_bytes);

// The ledger's identity, bound into its hash chain: the predecessor of seq 1
// is genesis_chain(ledger_id) = SHA-256("ledger-genesis/v1" 0x0A ledger_id),
// so no event of one ledger chains into another's journal, even at seq 1.
// An empty id (a store created before ledger ids existed) gives 32 zero
// bytes. Ids are 1..64 bytes of [A-Za-z0-9._:-].
inline constexpr std::size_t ledger_id_bytes_max = 64;
hash256 genesis_chain(std::string_view ledger_id);
// Why `id` is not a valid ledger id, or empty if it is.
std::string ledger_id_problem(std::string_view id);

// Incremental SHA-256 over a sequence of (key, value) pairs, framed with
// lengths so no two different sequences hash alike. The state digest.
class digest_builder {
 public:
  digest_builder();
  ~digest_builder();
  digest_builder(const digest_builder&) = delete;
  digest_builder& operator=(const digest_builder&) = delete;
  void add(std::string_view key, std::string_view value);
  hash256 finish();

 private:
  void* ctx_;
};

}  // namespace ledger
