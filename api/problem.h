// RFC 9457 problem details: every error response of the HTTP API, the
// operations endpoints and the transport is built here, in one shape:
//
//   {"type":"/problems/<slug>","title":...,"status":...,"detail":...,
//    "instance":<path>,"request_id":...,["field":...], [extra members]}
//
// and one mapping from operating errors (`status`) to HTTP, which honours
// status::retryable(): only retryable errors are 503 with Retry-After.
#pragma once

#include <string>
#include <string_view>

#include "api/http.h"
#include "engine/outcome.h"
#include "schemas/base.h"

namespace ledger::api {

struct problem {
  unsigned status = 400;
  std::string slug;    // stable type: "/problems/<slug>"
  std::string detail;  // for people; never internal error text
  std::string field;   // the offending field or query parameter, if any
  header_list headers;  // Retry-After, Allow, WWW-Authenticate
};

// Where the problem happened: `instance` (the path, without the query) and
// the request id it is logged under.
struct problem_origin {
  std::string_view target;  // as sent; the query is cut off
  std::string_view request_id;
};

// The title of a problem type; "Command rejected" for business rejections.
std::string_view problem_title(std::string_view slug);

// The complete response: status, application/problem+json, headers, body.
http_response problem_response(const problem& p, const problem_origin& at);

// The problem body of a command the ledger's rules refused: 422 with
// "outcome":"rejected", "reason" and "seq" besides the usual members.
inline constexpr unsigned rejection_status = 422;
std::string rejection_body(const outcome& o, const problem_origin& at);

// Who an operating error is about: `caller` for reads whose not_found and
// invalid_argument describe the request; `ledger` for the command path,
// where every error is the ledger's own.
enum class fault { caller, ledger };

// The one mapping from an operating error to a problem:
//   retryable (unavailable, io_error)  -> 503 unavailable, Retry-After
//   caller: not_found -> 404 not-found, invalid_argument -> 400 invalid-field
//   anything else                      -> 500 internal-error, no Retry-After
// A 5xx detail is generic text, never the status's message (log that).
problem problem_of(const status& s, fault who, int retry_after_s = 1);

// A short code for an operating error, safe to show ("io-error",
// "unavailable"): readiness reasons carry this, never the message.
std::string_view reason_code(const status& s);

}  // namespace ledger::api
