// The S3 connection over Beast. Operations are asynchronous on a private
// io_context run to completion by the calling thread, so a deadline on the
// lowest layer (beast::tcp_stream::expires_after) bounds every step.
#include "documents/s3_http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <cstring>
#include <ctime>
#include <optional>

namespace ledger::documents {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class s3_tls {
 public:
  net::ssl::context ctx{net::ssl::context::tls_client};
};

std::shared_ptr<s3_tls> make_s3_tls(const s3_settings& s, status& st) {
  auto t = std::make_shared<s3_tls>();
  boost::system::error_code ec;
  if (s.ca_file.empty()) t->ctx.set_default_verify_paths(ec);
  else t->ctx.load_verify_file(s.ca_file, ec);
  if (ec) {
    st = status::invalid_argument("--s3-ca-file " + s.ca_file + ": " + ec.message());
    return nullptr;
  }
  t->ctx.set_verify_mode(net::ssl::verify_peer);
  st = status::ok();
  return t;
}

std::string s3_http_response::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return "";
}

std::string s3_http_response::describe() const {
  auto code = xml_values(body, "Code");
  auto msg = xml_values(body, "Message");
  std::string s = std::to_string(status);
  if (!code.empty()) s += " " + code[0];
  if (!msg.empty()) s += ": " + msg[0];
  return s;
}

std::vector<std::string> xml_values(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  for (std::size_t at = xml.find(open); at != std::string_view::npos; at = xml.find(open, at)) {
    at += open.size();
    auto end = xml.find(close, at);
    if (end == std::string_view::npos) break;
    std::string v;
    for (std::size_t i = at; i < end; ++i) {
      static const std::pair<const char*, char> ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool done = false;
      for (const auto& [e, c] : ents)
        if (xml.compare(i, std::strlen(e), e) == 0) {
          v.push_back(c);
          i += std::strlen(e) - 1;
          done = true;
          break;
        }
      if (!done) v.push_back(xml[i]);
    }
    out.push_back(std::move(v));
    at = end + close.size();
  }
  return out;
}

struct s3_connection::impl {
  const s3_settings& s;
  std::shared_ptr<s3_tls> tls;
  net::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buf;
  std::string connected_to;  // host:port of the open connection; "" when closed

  impl(const s3_settings& settings, std::shared_ptr<s3_tls> t) : s(settings), tls(std::move(t)) {}

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  void close() {
    if (plain || secure) {
      beast::error_code ignored;
      lowest().socket().close(ignored);
    }
    plain.reset();
    secure.reset();
    buf.clear();
    connected_to.clear();
  }
  // Runs the queued operation to its end; `ec` is set by its handler.
  void run() {
    ioc.restart();
    ioc.run();
  }
  status connect(const s3_target& t);
  template <class Stream>
  status exchange(Stream& stream, http::request<http::string_body>& req, const s3_http_request& r, s3_http_response& out);
  status send_once(const s3_target& t, http::request<http::string_body>& req, const s3_http_request& r, s3_http_response& out);
};

status s3_connection::impl::connect(const s3_target& t) {
  close();
  auto deadline = std::chrono::milliseconds(s.timeout_ms);
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  tcp::resolver::results_type results;
  // RFC 6761: every name under .localhost is the loopback host (so
  // virtual-host addressing works against a local endpoint without DNS).
  bool loopback = t.connect_host == "localhost" || (t.connect_host.size() > 10 && t.connect_host.compare(t.connect_host.size() - 10, 10, ".localhost") == 0);
  resolver.async_resolve(loopback ? std::string("localhost") : t.connect_host, t.port, [&](beast::error_code e, tcp::resolver::results_type r) { ec = e; results = std::move(r); });
  run();
  if (ec) return status::unavailable("S3 endpoint " + t.connect_host + ": cannot resolve: " + ec.message());
  if (t.tls) {
    if (!tls) return status::invalid_argument("S3: https endpoint without a TLS context");
    secure.emplace(ioc, tls->ctx);
  } else {
    plain.emplace(ioc);
  }
  lowest().expires_after(deadline);
  lowest().async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  run();
  if (ec) return close(), status::unavailable("S3 endpoint " + t.connect_host + ":" + t.port + ": connect: " + ec.message());
  if (t.tls) {
    if (!SSL_set_tlsext_host_name(secure->native_handle(), t.connect_host.c_str()))
      return close(), status::unavailable("S3: cannot set the TLS server name");
    secure->set_verify_callback(net::ssl::host_name_verification(t.connect_host));
    lowest().expires_after(deadline);
    secure->async_handshake(net::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run();
    if (ec) return close(), status::unavailable("S3 endpoint " + t.connect_host + ": TLS handshake: " + ec.message());
  }
  connected_to = t.connect_host + ":" + t.port;
  return status::ok();
}

template <class Stream>
status s3_connection::impl::exchange(Stream& stream, http::request<http::string_body>& req, const s3_http_request& r,
                                     s3_http_response& out) {
  beast::error_code ec;
  lowest().expires_after(std::chrono::milliseconds(s.timeout_ms));
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  run();
  if (ec) return close(), status::unavailable("S3 " + r.method + " " + r.key + ": write: " + ec.message());
  http::response_parser<http::string_body> p;
  p.header_limit(16u << 10);
  p.body_limit(r.response_body_max);
  if (r.head) p.skip(true);
  http::async_read(stream, buf, p, [&](beast::error_code e, std::size_t) { ec = e; });
  run();
  if (ec == http::error::body_limit)
    return close(), status::io_error("S3 " + r.method + " " + r.key + ": answer larger than " + std::to_string(r.response_body_max) + " bytes");
  if (ec) return close(), status::unavailable("S3 " + r.method + " " + r.key + ": read: " + ec.message());
  auto& res = p.get();
  out.status = res.result_int();
  out.headers.clear();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  out.body = std::move(res.body());
  if (!res.keep_alive()) close();
  return status::ok();
}

status s3_connection::impl::send_once(const s3_target& t, http::request<http::string_body>& req, const s3_http_request& r,
                                      s3_http_response& out) {
  if (connected_to != t.connect_host + ":" + t.port)
    if (auto st = connect(t); !st) return st;
  return secure ? exchange(*secure, req, r, out) : exchange(*plain, req, r, out);
}

s3_connection::s3_connection(const s3_settings& s, std::shared_ptr<s3_tls> tls) : impl_(std::make_unique<impl>(s, std::move(tls))) {}
s3_connection::~s3_connection() { impl_->close(); }

status s3_connection::send(s3_http_request& r, s3_http_response& out) {
  const s3_settings& s = impl_->s;
  s3_target t = s3_target_of(s, r.key);
  std::string date = amz_date(static_cast<std::int64_t>(std::time(nullptr)));
  sigv4_request sr{r.method, t.path, r.query, r.headers, sha256_hex_of(r.body)};
  sr.headers.emplace_back("host", t.host_header);
  sr.headers.emplace_back("x-amz-date", date);
  sr.headers.emplace_back("x-amz-content-sha256", sr.payload_sha256);
  std::string target = t.path;
  for (std::size_t i = 0; i < r.query.size(); ++i)
    target += (i == 0 ? "?" : "&") + uri_encode(r.query[i].first, false) + "=" + uri_encode(r.query[i].second, false);
  http::request<http::string_body> req{http::string_to_verb(r.method), target, 11};
  for (const auto& [k, v] : sr.headers) req.set(k, v);
  req.set(http::field::authorization, sigv4_authorization(sr, s.credentials, s.region, date));
  req.keep_alive(true);
  req.body() = std::move(r.body);
  req.prepare_payload();
  bool reused = !impl_->connected_to.empty();
  auto st = impl_->send_once(t, req, r, out);
  // A kept-alive connection the server closed meanwhile: once more, fresh.
  if (!st && reused) st = impl_->send_once(t, req, r, out);
  return st;
}

}  // namespace ledger::documents
