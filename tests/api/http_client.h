// A small synchronous HTTP/1.1 client for the end-to-end tests, on
// Boost.Beast: one keep-alive connection to 127.0.0.1:port, every read and
// write bounded by a timeout, HTTP pipelining on demand, and a raw socket for
// sending arbitrary bytes slowly and noticing when the server hangs up.
//
// Failures of the transport (refused, reset, closed, timed out) throw
// transport_error; HTTP error statuses are ordinary responses.
//
// Concurrency: an http_client or raw_connection belongs to one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ledger::e2e {

using ms = std::chrono::milliseconds;
using header_list = std::vector<std::pair<std::string, std::string>>;

struct transport_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct request {
  std::string method = "GET";
  std::string target = "/";
  header_list headers;  // sent as given, after Host
  std::string body;     // Content-Length is added for POST/PUT/PATCH or a non-empty body
};

struct response {
  unsigned status = 0;
  header_list headers;  // names lower-cased, in the order received
  std::string body;
  bool keep_alive = true;

  // First value of a header (any case), or "".
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // Every value of a header (any case).
  std::vector<std::string> header_values(std::string_view name) const;
};

// The request's bytes on the wire: request line, Host, the given headers,
// Content-Length when needed, blank line, body.
std::string serialize(const request& r);

class http_client {
 public:
  explicit http_client(unsigned short port, ms timeout = ms(10'000));
  ~http_client();
  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;

  // Sends one request and reads its response, reusing the open connection
  // (or connecting first). A response without keep-alive closes it.
  response send(const request& r);
  // HTTP pipelining: writes every request back to back in one write, then
  // reads that many responses in order.
  std::vector<response> pipeline(const std::vector<request>& rs);
  // Writes raw bytes on the connection (connecting first if needed), then
  // reads one response. A failed write is not thrown, so that a response the
  // server sent before hanging up can still be read; the connection is left
  // open (whatever the response says) for wait_closed().
  response send_raw(std::string_view bytes);

  void connect();
  void close();
  bool is_open() const;
  // Waits up to `timeout` for the server to close the connection (end of
  // stream or reset). True if it did; any bytes received are discarded.
  bool wait_closed(ms timeout);

  unsigned short port() const { return port_; }
  std::size_t connects() const { return connects_; }  // TCP connections opened so far
  std::size_t requests() const { return requests_; }  // requests written so far

 private:
  response read_response(const std::string& what);

  struct impl;
  std::unique_ptr<impl> p_;
  unsigned short port_;
  ms timeout_;
  std::size_t connects_ = 0;
  std::size_t requests_ = 0;
};

// A plain TCP connection for byte-level tests.
class raw_connection {
 public:
  // Connects; throws transport_error if refused or timed out.
  explicit raw_connection(unsigned short port, ms timeout = ms(5'000));
  ~raw_connection();

  // Writes everything; false if the connection is broken.
  bool write(std::string_view bytes);

  struct slow_result {
    bool closed = false;        // the server closed the connection
    std::size_t bytes_sent = 0; // bytes written before it did
    ms elapsed{0};              // from the call until the close was seen (or the end)
  };
  // Writes one byte every `interval`, watching for the server closing the
  // connection in between. Returns when it closes, when every byte is sent
  // and `linger` more has passed without a close, or at `deadline`.
  slow_result send_slowly(std::string_view bytes, ms interval, ms linger, ms deadline);

  // Reads until the server closes (true) or `timeout` passes (false).
  bool wait_closed(ms timeout);
  // Everything read so far.
  const std::string& received() const { return received_; }

 private:
  // Reads what is available for up to `timeout`; true if the peer closed.
  bool read_for(ms timeout);

  struct impl;
  std::unique_ptr<impl> p_;
  std::string received_;
  bool closed_ = false;
};

}  // namespace ledger::e2e
