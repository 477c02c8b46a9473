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

// Applies the server's header and body limits to a fresh parser.
void limit(request_parser& p, const server_config& cfg);

// What a read that ended with `ec` means: true and `out` set when the
// request is refused with a problem response (400, 413, 431); false when the
// connection just closes (end of stream, timeout, socket errors).
bool refusal_of(const boost::beast::error_code& ec, transport_error& out);

// The request as the service sees it: header names lower-cased.
http_request to_request(const beast_request& msg, const std::string& remote);

// The response on the wire: status, Content-Type, the service's headers,
// body, Content-Length and keep-alive.
std::shared_ptr<beast_response> to_response(http_response&& r, bool keep_alive);

}  // namespace ledger::api::wire
