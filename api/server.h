// The HTTP/1.1 server on Boost.Beast, after Beast's advanced server example:
// a listener, a session per connection on its own strand, a parser made anew
// for each request with header and body limits, a timeout on every read and
// write, and a bounded pipeline (responses leave in request order).
//
// Concurrency: run() drives `io_threads` threads. stop_accepting() and
// stop() may be called from any thread (the signal handler thread).
//
// Limits: connections_max open connections (beyond it, new connections are
// closed at once), pipeline_max requests per connection awaiting responses,
// header_bytes_max, body_bytes_max (or the streamed routes' own limit, with
// an idle timeout per piece and an overall deadline), read/write timeouts.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "api/service.h"

namespace ledger::api {

struct server_config {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port
  int io_threads = 2;
  std::size_t connections_max = 1024;
  std::size_t header_bytes_max = 16 * 1024;
  std::size_t body_bytes_max = 1 << 20;
  int read_timeout_ms = 15'000;   // a whole request, or an idle keep-alive connection
  int write_timeout_ms = 15'000;
  std::size_t pipeline_max = 16;
  // Routes whose body is streamed to the handler (http_request::body_in)
  // rather than read whole: returns the body limit for such a request
  // (method, target), 0 for every other request (body_bytes_max applies).
  std::function<std::size_t(std::string_view method, std::string_view target)> streamed_body_max;
  // A streamed body: each piece must arrive within idle_ms, the whole body
  // within deadline_ms of its header, else the request ends (timeout).
  int streamed_idle_timeout_ms = 30'000;
  int streamed_deadline_ms = 600'000;
  std::size_t streamed_piece_bytes = 64 * 1024;
};

class server {
 public:
  server(http_handler& svc, server_config config);
  ~server();

  // Binds and listens; fills port() when the configured one was 0.
  status listen();
  unsigned short port() const { return port_; }
  // Runs the I/O threads; returns after stop().
  void run();
  // Closes the listening socket; connections in progress carry on.
  void stop_accepting();
  // Graceful end: closes idle connections, lets responses in progress be
  // written (bounded by the write timeout), then lets run() return.
  void drain();
  // Stops every I/O thread at once.
  void stop();
  std::size_t connections() const { return connections_->load(); }

  // Posts work onto the I/O threads (for the service's completions).
  std::function<void(std::function<void()>)> dispatcher();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
  http_handler& svc_;
  server_config config_;
  unsigned short port_ = 0;
  std::shared_ptr<std::atomic<std::size_t>> connections_;
};

}  // namespace ledger::api
