// HTTP/1.1 requests from bytes and responses to bytes, exactly as a server
// session reads and writes them (the same parser, limits and error mapping:
// http_wire_beast.h), without sockets: for the fuzzer and for tests.
//
// Thread-safe (no shared state). Limits: those of `cfg` (header and body
// bytes); one request per call.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "api/http.h"
#include "api/server.h"

namespace ledger::api {

struct wire_read {
  enum class kind {
    request,     // `request` is whole; `keep_alive` as the client asked
    refused,     // the parser refused it: answer `error` (handler.reject), then close
    incomplete,  // more bytes are needed (never when at_eof)
    closed,      // nothing to answer: the connection just closes
  };
  kind what = kind::closed;
  http_request request;  // request: whole; refused: what was read of it
  transport_error error;
  bool keep_alive = false;
  std::size_t consumed = 0;  // bytes of `bytes` the request took
};

// Reads one request from the front of `bytes`. `at_eof`: the peer sent
// nothing more (a partial request then ends as a session's does).
wire_read read_request(std::string_view bytes, const server_config& cfg, bool at_eof, const std::string& remote);

// The bytes a session writes for `r`.
std::string write_response(http_response&& r, bool keep_alive);

}  // namespace ledger::api
