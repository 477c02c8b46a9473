// Checks the engine tests share on a running harness's committed state.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "engine/chain.h"
#include "engine/rebuild.h"
#include "tests/engine/harness.h"

namespace ledger::testing {

// Whether the committed state holds `key`.
inline bool has_state_key(engine_harness& h, const std::string& key) {
  std::string v;
  return h.eng().storage().read_state(key, v).is_ok();
}

// The state rebuilt from the journal alone has the live state's digest.
inline void check_rebuild_digest(engine_harness& h) {
  rebuilt_state r;
  REQUIRE(rebuild(h.eng().storage(), {}, r).is_ok());
  checkpoint live;
  REQUIRE(h.eng().storage().state_digest(live).is_ok());
  CHECK(to_hex(live.state_digest) == to_hex(r.digest));
}

}  // namespace ledger::testing
