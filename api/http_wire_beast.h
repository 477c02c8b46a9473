// The pieces of HTTP/1.1 reading and writing that a server session and
// read_request() (http_wire.h) share, in Beast's types, so the bytes a
// fuzzer feeds take the very path a connection's bytes take. Internal to
// api/: only server.cpp and http_wire.cpp include it.
#pragma once

#include <boost/beast/http.hpp>
#include <memory>
#include <string>

#include "api/http.h"
#include "api/server.h"

namespace ledger::api::wire {

using beast_request = boost::beast::http::request<boost::beast::http::string_body>;
using beast_response = boost::beast::http::response<boost::beast::http::string_body>;
using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Applies the server's header and body limits to a fresh parser. With
// streamed routes (cfg.streamed_body_max), the body limit waits for the
// header: limit_body() sets it.
void limit(request_parser& p, const server_config& cfg);

// Once the header is read: sets the request's body limit on `p` (the
// streamed route's own, or body_bytes_max) and returns the streamed limit in
// `streamed_max` (0: the body is read whole). False with `refusal` set (413)
// when the declared Content-Length exceeds the limit.
bool limit_body(request_parser& p, const server_config& cfg, std::size_t& streamed_max, transport_error& refusal);

// What a read that ended with `ec` means: true and `out` set when the
// request is refused with a problem response (400, 413, 431); false when the
// connection just closes (end of stream, timeout, socket errors).
bool refusal_of(const boost::beast::error_code& ec, transport_error& out);

// The request as the service sees it (without its body): header names
// lower-cased.
http_request to_request(const boost::beast::http::request_header<>& msg, const std::string& remote);

// The response on the wire: status, Content-Type, the service's headers,
// body, Content-Length and keep-alive.
std::shared_ptr<beast_response> to_response(http_response&& r, bool keep_alive);

}  // namespace ledger::api::wire
