// SHA-256 helpers for the hash chain, payload hashes and state digests.
#pragma once

#include <string_view>

#include "schemas/events.h"

namespace ledger {

hash256 sha256(std::string_view bytes);
// SHA-256(previous || event_bytes): the chain hash of an event.
hash256 chain_next(const hash256& previous, std::string_view event_bytes);

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
