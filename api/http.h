// Transport-neutral HTTP request and response, so the service can be
// exercised without Beast and Beast stays inside server.cpp.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ledger::api {

struct http_request {
  std::string method;
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
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
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Called exactly once per request, from any thread.
using responder = std::function<void(http_response&&)>;

// What the server hands each request to.
class http_handler {
 public:
  virtual ~http_handler() = default;
  virtual void handle(http_request&& req, responder done) = 0;
};

}  // namespace ledger::api
