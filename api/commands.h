// The command pipeline every command route and the batch share: the
// Idempotency-Key, reading the body through the route's operation,
// object-level authorization, reserving the key while in flight, the round
// trip through the engine, and the outcome as a response.
//
// Limits: commands per batch (service_config::batch_commands_max); the
// engine's bounded command log (full: 503 overloaded with Retry-After).
#pragma once

#include <functional>
#include <string_view>

#include "api/exchange.h"
#include "api/router.h"

namespace ledger::api {

// Adds a POST route answered by the pipeline with `op` (its name is op.type).
void add_command(router& r, std::string_view path, operation op);

// Runs the pipeline for the matched command route, with a parser of the
// route's own (for routes whose path carries text, such as
// /v1/fee-schedules/{asset}/{kind}, which op.parse cannot see).
// `body_required`: the request must carry a JSON body.
using body_parser = std::function<void(state_reads&, field_reader&, const principal&, command_body&)>;
void answer_command(const exchange_ptr& x, bool body_required, const body_parser& parse);
// POST /v1/batch.
void add_batch_routes(router& r);

// Reads an id from the path, or from the body when routed without one (batch).
std::uint64_t id_or_path(field_reader& r, std::string_view name, std::uint64_t path_id);
// Answers a submission the engine's log refused (full, too large, closed).
void answer_append_failure(exchange& x, append_result result);
// Submits one command; `done` gets its outcome (operating errors included)
// on an I/O thread. When the engine's log refuses it, answers that itself.
void submit_single(const exchange_ptr& x, command cmd, std::function<void(const outcome&)> done);
// Operations without object-level checks.
std::optional<problem> no_check(state_reads&, const principal&, const command_body&);

}  // namespace ledger::api
