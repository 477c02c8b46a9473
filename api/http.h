// Transport-neutral HTTP request and response, so the service can be
// exercised without Beast and Beast stays inside server.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ledger::api {

using header_list = std::vector<std::pair<std::string, std::string>>;

// A request body read as it arrives, for the routes whose bodies the
// transport streams (server_config::streamed_body_max): the handler pulls
// one piece at a time, so memory per request is one piece, not the body.
//
// read() asks for the next piece; `done` is called exactly once per read,
// on an I/O thread (or inline), with bytes valid until the next read, with
// `last` set on the final call, or with `error` set (the client stalled past
// the idle timeout, the overall deadline passed, the body is malformed or
// over the limit, the connection was lost): then nothing more follows. One
// read at a time. A handler that answers before the end simply stops
// reading; the transport then closes the connection after the answer.
class body_source {
 public:
  struct piece {
    std::string_view bytes;
    bool last = false;
    const char* error = nullptr;  // static text; set: the body is lost
    bool timed_out = false;       // the error is a timeout (idle or deadline)
  };
  virtual ~body_source() = default;
  virtual void read(std::function<void(const piece&)> done) = 0;
};

struct http_request {
  std::string method;
  std::string target;  // path and query, as sent
  header_list headers;  // names lower-cased
  std::string body;
  std::string remote;
  // Set for a streamed route (then `body` is empty): the body, read on demand.
  std::shared_ptr<body_source> body_in;

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

// A response body written over time (Server-Sent Events, long NDJSON) or
// the messages of a WebSocket. The transport calls start() once, then pull()
// whenever it can write and after each wake(); stop() once when the
// connection ends for any reason (client gone, write failed or timed out,
// server stopping). After pull() returned false (the end), the transport
// writes what it got, then closes (a WebSocket with close_reason()).
// Memory: the producer bounds what it keeps between pulls.
class body_stream {
 public:
  virtual ~body_stream() = default;
  // `wake` may be called from any thread, any number of times.
  virtual void start(std::function<void()> wake) = 0;
  // Appends the pieces ready now (a WebSocket sends each as one text frame;
  // HTTP writes them back to back); false once nothing will follow them.
  virtual bool pull(std::vector<std::string>& out) = 0;
  virtual void stop() = 0;
  // The WebSocket close frame's reason (at most 123 bytes).
  virtual std::string close_reason() const { return {}; }
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  header_list headers;
  std::string body;
  // Set: the body is streamed from here (after `body`, if any), and the
  // connection closes at its end. With `websocket`, the request is upgraded
  // instead (status, headers and body are not sent).
  std::shared_ptr<body_stream> stream;
  bool websocket = false;
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
