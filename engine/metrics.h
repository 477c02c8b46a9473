// The engine's figures in Prometheus text: durable commit latency, batch
// sizes, queue depth, commands and replays applied, the journal head, and
// whether the engine stopped after a store failure. Rendered here, next to
// what they measure; a process's /metrics concatenates them.
//
// Thread-safe: reads engine::stats() and head().
#pragma once

#include <string>

#include "engine/engine.h"

namespace ledger {

std::string engine_metrics(const engine& e);

}  // namespace ledger
