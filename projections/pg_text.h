// Making any event string storable in PostgreSQL, without losing it.
//
// The engine accepts strings PostgreSQL cannot hold: `text` refuses NUL
// bytes and invalid UTF-8, `jsonb` also refuses the escape \u0000 and lone
// surrogate escapes. Rejected commands keep the caller's principal,
// idempotency key and request id whatever bytes they held, and metadata from
// programmatic callers need not be JSON at all.
//
// The rule (docs/read-models.md): a column holds the value itself when
// PostgreSQL can; otherwise it holds a display form (each NUL byte and each
// byte of an invalid UTF-8 sequence becomes U+FFFD; metadata that is not
// JSON is wrapped as {"unparsed": "<display form>"}), and the exact bytes go
// to `event_raw_fields` (seq, field, raw bytea). Nothing is ever lost, and
// one odd string never stops the projection.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ledger::projections {

// The value for a `text` column; `exact` is false when it is a display form.
std::string pg_text(std::string_view s, bool& exact);

// The value for a `jsonb` column ("" stays ""); `exact` as above.
std::string pg_json(std::string_view metadata, bool& exact);

}  // namespace ledger::projections
