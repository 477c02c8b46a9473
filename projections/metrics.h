// The projector's figures in Prometheus text: the last projected seq, the lag
// behind the journal head (in events and in log time), and failed batches.
// Rendered here, next to what they measure; a process's /metrics
// concatenates them.
//
// Thread-safe: reads projector::stats().
#pragma once

#include <string>

#include "engine/store.h"
#include "projections/projector.h"

namespace ledger::projections {

// `head`: the journal head the projector follows (the engine's, or its own
// position when nothing else is known).
std::string projection_metrics(const projector& p, const ledger_head& head);

}  // namespace ledger::projections
