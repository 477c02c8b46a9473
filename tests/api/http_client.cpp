#include "tests/api/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>

namespace ledger::e2e {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Runs `ioc` until `done` is set or `timeout` passes. On timeout the socket's
// operations are cancelled and their handlers drained, so no handler outlives
// the call. Returns false on timeout.
bool run_bounded(net::io_context& ioc, tcp::socket& sock, ms timeout, const bool& done) {
  ioc.restart();
  ioc.run_for(timeout);
  if (done) return true;
  beast::error_code ignored;
  sock.cancel(ignored);
  ioc.restart();
  ioc.run();
  return done;  // it may have completed in the same instant
}

bool is_close_error(const beast::error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == bhttp::error::end_of_stream || ec == net::error::connection_aborted;
}

void connect_socket(net::io_context& ioc, tcp::socket& sock, unsigned short port, ms timeout) {
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
  bool done = false;
  beast::error_code result;
  sock.async_connect(ep, [&](beast::error_code ec) {
    result = ec;
    done = true;
  });
  if (!run_bounded(ioc, sock, timeout, done)) {
    beast::error_code ignored;
    sock.close(ignored);
    throw transport_error("connect to port " + std::to_string(port) + ": timed out");
  }
  if (result) {
    beast::error_code ignored;
    sock.close(ignored);
    throw transport_error("connect to port " + std::to_string(port) + ": " + result.message());
  }
  sock.set_option(tcp::no_delay(true));
}

// Writes all of `bytes`; returns the error (empty on success, timeout as timed_out).
beast::error_code write_all(net::io_context& ioc, tcp::socket& sock, std::string_view bytes, ms timeout) {
  bool done = false;
  beast::error_code result;
  net::async_write(sock, net::buffer(bytes.data(), bytes.size()), [&](beast::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!run_bounded(ioc, sock, timeout, done)) return net::error::timed_out;
  return result;
}

}  // namespace

std::string response::header(std::string_view name) const {
  auto n = lower(name);
  for (const auto& [k, v] : headers)
    if (k == n) return v;
  return {};
}

bool response::has_header(std::string_view name) const {
  auto n = lower(name);
  for (const auto& [k, v] : headers)
    if (k == n) return true;
  return false;
}

std::vector<std::string> response::header_values(std::string_view name) const {
  auto n = lower(name);
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k == n) out.push_back(v);
  return out;
}

std::string serialize(const request& r) {
  std::string s = r.method + " " + r.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_length = false;
  for (const auto& [k, v] : r.headers) {
    s += k + ": " + v + "\r\n";
    if (lower(k) == "content-length" || lower(k) == "transfer-encoding") has_length = true;
  }
  if (!has_length && (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH"))
    s += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  s += "\r\n";
  s += r.body;
  return s;
}

// ---------------------------------------------------------------------------

struct http_client::impl {
  net::io_context ioc;
  tcp::socket sock{ioc};
  beast::flat_buffer buffer;
  bool open = false;
};

http_client::http_client(unsigned short port, ms timeout) : p_(std::make_unique<impl>()), port_(port), timeout_(timeout) {}
http_client::~http_client() {
  if (p_) close();
}
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;

void http_client::connect() {
  close();
  p_->buffer.clear();
  connect_socket(p_->ioc, p_->sock, port_, timeout_);
  p_->open = true;
  ++connects_;
}

void http_client::close() {
  if (!p_->open) return;
  beast::error_code ignored;
  p_->sock.shutdown(tcp::socket::shutdown_both, ignored);
  p_->sock.close(ignored);
  p_->open = false;
}

bool http_client::is_open() const { return p_->open; }

response http_client::send(const request& r) { return pipeline({r}).at(0); }

std::vector<response> http_client::pipeline(const std::vector<request>& rs) {
  std::string bytes;
  for (const auto& r : rs) bytes += serialize(r);
  if (!p_->open) connect();
  requests_ += rs.size();
  if (auto ec = write_all(p_->ioc, p_->sock, bytes, timeout_)) {
    close();
    throw transport_error("write: " + ec.message());
  }
  std::vector<response> out;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    out.push_back(read_response("response " + std::to_string(i + 1) + " of " + std::to_string(rs.size())));
    if (!out.back().keep_alive) {
      close();
      if (i + 1 < rs.size())
        throw transport_error("the server closed the connection after response " + std::to_string(i + 1));
    }
  }
  return out;
}

response http_client::read_response(const std::string& what) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64u << 20);
  parser.header_limit(1u << 20);
  bool done = false;
  beast::error_code result;
  bhttp::async_read(p_->sock, p_->buffer, parser, [&](beast::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!run_bounded(p_->ioc, p_->sock, timeout_, done)) {
    close();
    throw transport_error("read " + what + ": timed out");
  }
  if (result) {
    close();
    throw transport_error("read " + what + ": " + result.message());
  }
  auto msg = parser.release();
  response resp;
  resp.status = msg.result_int();
  for (const auto& f : msg) resp.headers.emplace_back(lower(std::string(f.name_string())), std::string(f.value()));
  resp.body = std::move(msg.body());
  resp.keep_alive = msg.keep_alive();
  return resp;
}

response http_client::send_raw(std::string_view bytes) {
  if (!p_->open) connect();
  ++requests_;
  // A failed write is not fatal here: the server may have answered (413,
  // 431...) and closed before reading everything.
  (void)write_all(p_->ioc, p_->sock, bytes, timeout_);
  // The connection stays open even after "Connection: close", so that
  // wait_closed() observes the server hanging up.
  return read_response("raw response");
}

namespace {
// Reads (keeping the bytes in `sink`, if given) until the peer closes the
// connection (true) or the timeout passes (false).
bool read_until_closed(net::io_context& ioc, tcp::socket& sock, ms timeout, std::string* sink) {
  auto deadline = clock_type::now() + timeout;
  char scratch[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<ms>(deadline - clock_type::now());
    if (left <= ms(0)) return false;
    bool done = false;
    beast::error_code result;
    std::size_t n = 0;
    sock.async_read_some(net::buffer(scratch), [&](beast::error_code ec, std::size_t got) {
      result = ec;
      n = got;
      done = true;
    });
    if (!run_bounded(ioc, sock, left, done)) return false;
    if (sink) sink->append(scratch, n);
    if (result == net::error::operation_aborted) return false;
    if (result) return true;
  }
}
}  // namespace

bool http_client::wait_closed(ms timeout) {
  if (!p_->open) return true;
  if (!read_until_closed(p_->ioc, p_->sock, timeout, nullptr)) return false;
  close();
  return true;
}

// ---------------------------------------------------------------------------

struct raw_connection::impl {
  net::io_context ioc;
  tcp::socket sock{ioc};
};

raw_connection::raw_connection(unsigned short port, ms timeout) : p_(std::make_unique<impl>()) {
  connect_socket(p_->ioc, p_->sock, port, timeout);
}

raw_connection::~raw_connection() {
  beast::error_code ignored;
  p_->sock.close(ignored);
}

bool raw_connection::write(std::string_view bytes) {
  if (closed_) return false;
  auto ec = write_all(p_->ioc, p_->sock, bytes, ms(5'000));
  if (ec && is_close_error(ec)) closed_ = true;
  return !ec;
}

bool raw_connection::read_for(ms timeout) {
  if (closed_) return true;
  closed_ = read_until_closed(p_->ioc, p_->sock, timeout, &received_);
  return closed_;
}

bool raw_connection::wait_closed(ms timeout) { return read_for(timeout); }

raw_connection::slow_result raw_connection::send_slowly(std::string_view bytes, ms interval, ms linger, ms deadline) {
  auto start = clock_type::now();
  auto end = start + deadline;
  slow_result r;
  auto elapsed = [&] { return std::chrono::duration_cast<ms>(clock_type::now() - start); };
  for (char c : bytes) {
    if (clock_type::now() >= end) break;
    if (!write(std::string_view(&c, 1))) {
      r.closed = true;
      r.elapsed = elapsed();
      return r;
    }
    ++r.bytes_sent;
    // Paces the bytes and watches for the close at the same time.
    if (read_for(interval)) {
      r.closed = true;
      r.elapsed = elapsed();
      return r;
    }
  }
  auto left = std::chrono::duration_cast<ms>(end - clock_type::now());
  if (left > ms(0) && read_for(std::min(left, linger))) r.closed = true;
  r.elapsed = elapsed();
  return r;
}

}  // namespace ledger::e2e
