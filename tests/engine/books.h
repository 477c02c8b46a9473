// The double-entry check the engine tests take after each step: the journal
// folded from the start passes every event check, its trial balance is zero
// in posted and pending for every asset, and no wallet is overdrawn.
#pragma once

#include <doctest/doctest.h>

#include "engine/rebuild.h"
#include "tests/engine/harness.h"
#include "tests/engine/ledger_checks.h"

namespace ledger::testing {

inline void check_books(engine_harness& h) {
  rebuilt_state r;
  REQUIRE(rebuild(h.eng().storage(), {}, r).is_ok());
  CHECK(trial_balance_of(*r.state).zero());
  CHECK(first_overdrawn_wallet(*r.state) == "");
}

}  // namespace ledger::testing
