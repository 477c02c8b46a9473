// Transport-neutral HTTP request and response, so the service can be
// exercised without Beast and Beast stays inside server.cpp.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ledger::api {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;
  std::string target;  // path and query, as sent
  header_list headers;  // names lower-cased
  std::string body;
  std::string remote;

  // First value of a header (name in lower case), or empty.
  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
  bool has_header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return true;
    return false;
  }
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  header_list headers;
  std::string body;
};

// A request the transport refused before it was whole: unparseable (400),
// a body over the limit (413), headers over the limit (431).
struct transport_error {
  unsigned status = 400;
  const char* slug = "malformed-request";
  const char* detail = "malformed HTTP request";
};

// Called exactly once per request, from any thread.
using responder = std::function<void(http_response&&)>;

// What the server hands each request to.
class http_handler {
 public:
  virtual ~http_handler() = default;
  virtual void handle(http_request&& req, responder done) = 0;
  // Answers a request the transport refused (see transport_error). `partial`
  // holds what was read: method, target and headers once the header was
  // complete, else possibly nothing. The connection closes after the
  // answer. The default builds the problem response alone (problem.cpp).
  virtual void reject(http_request&& partial, const transport_error& e, responder done);
};

}  // namespace ledger::api
