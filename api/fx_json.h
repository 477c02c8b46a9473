// JSON of exchange quotes, shared by POST /v1/quotes (the command's
// outcome) and GET /v1/quotes/{id} (api/routes_fx.cpp).
#pragma once

#include "api/state_reads.h"
#include "base/json_out.h"

namespace ledger::api {

// "1.0845" for rate_e18 1'084'500'000'000'000'000: exact, trailing zeros dropped.
std::string rate_text(amount_t rate_e18);
// The quote's fields (inside an object the caller opened).
void quote_fields(json_out& j, state_reads& s, const quote_issued& q);

}  // namespace ledger::api
