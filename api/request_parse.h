// Reading the parts of a request that are not its JSON body: the target
// (path segments and query parameters), path ids, header values, and the
// request id. JSON bodies are read by request_json.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"

namespace ledger::api {

// Splits "/v1/wallets/12?x=1" into path segments and percent-decoded query
// pairs ('+' is a space). Returns false for anything that is not a plain
// path: encoded or empty segments, a trailing slash, bad escapes.
bool split_target(std::string_view target, std::vector<std::string_view>& segments, header_list& query);

// A positive decimal id with no sign and no leading zero.
std::optional<std::uint64_t> parse_id(std::string_view s);

std::string lower(std::string_view s);

// The client's X-Request-ID when it is sane (1-128 characters of
// [A-Za-z0-9-_.:]), else a new random one (32 hex digits).
std::string request_id_of(const http_request& req);
std::string new_request_id();

// True when Content-Type is application/json (parameters ignored).
bool is_json_content_type(const http_request& req);

}  // namespace ledger::api
