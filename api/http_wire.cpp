#include "api/http_wire.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <limits>
#include <sstream>

#include "api/http_wire_beast.h"

namespace ledger::api {

namespace beast = boost::beast;
namespace http = beast::http;

namespace wire {

void limit(request_parser& p, const server_config& cfg) {
  p.header_limit(static_cast<std::uint32_t>(cfg.header_bytes_max));
  // Beast compares a Content-Length with the limit as the header ends, and
  // an unset limit (boost::none) refuses every length in this version: the
  // largest value defers the check to limit_body().
  if (cfg.streamed_body_max) p.body_limit(std::numeric_limits<std::uint64_t>::max());
  else p.body_limit(cfg.body_bytes_max);
}

bool limit_body(request_parser& p, const server_config& cfg, std::size_t& streamed_max, transport_error& refusal) {
  streamed_max = 0;
  if (!cfg.streamed_body_max) return true;
  const auto& h = p.get();
  auto method = h.method_string();
  auto target = h.target();
  streamed_max = cfg.streamed_body_max(std::string_view(method.data(), method.size()), std::string_view(target.data(), target.size()));
  std::size_t max = streamed_max ? streamed_max : cfg.body_bytes_max;
  auto declared = p.content_length();
  if (declared && *declared > max) return refusal = {413, "body-too-large", "the request body exceeds the limit"}, false;
  p.body_limit(max);
  return true;
}

bool refusal_of(const beast::error_code& ec, transport_error& out) {
  if (ec == http::error::end_of_stream || ec == boost::asio::error::eof || ec == beast::error::timeout) return false;
  if (ec == http::error::body_limit) return out = {413, "body-too-large", "the request body exceeds the limit"}, true;
  if (ec == http::error::header_limit)
    return out = {431, "headers-too-large", "the request headers exceed the limit"}, true;
  // Any other parser error is a malformed request; socket errors just close.
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) return out = {}, true;
  return false;
}

http_request to_request(const http::request_header<>& msg, const std::string& remote) {
  http_request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& ch : name)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  req.remote = remote;
  return req;
}

std::shared_ptr<beast_response> to_response(http_response&& r, bool keep_alive) {
  auto res = std::make_shared<beast_response>();
  res->version(11);
  res->result(static_cast<http::status>(r.status));
  if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res->insert(k, v);
  res->body() = std::move(r.body);
  res->keep_alive(keep_alive);
  // A handler that sets Transfer-Encoding: chunked streams a body it frames
  // as HTTP/1.1 chunks itself (the document export); prepare_payload would
  // drop the header (the server has taken the stream out of `r` by now).
  bool chunked = res->chunked();
  res->prepare_payload();
  if (chunked) res->chunked(true);
  return res;
}

}  // namespace wire

namespace {

// Feeds `bytes` to `p` until it has a whole message, needs more than there
// is, or fails. Returns the bytes used; `ec` need_more when short. Beast may
// take no bytes without an error (it waits for a whole chunk header, say):
// that is short too, never a reason to call it again with the same bytes.
std::size_t feed(wire::request_parser& p, std::string_view bytes, beast::error_code& ec) {
  std::size_t used = 0;
  while (!p.is_done()) {
    std::size_t n = p.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec && ec != http::error::need_more) return used;
    if (n == 0 || used == bytes.size()) {
      ec = p.is_done() ? beast::error_code{} : beast::error_code(http::error::need_more);
      return used;
    }
    ec = {};
  }
  return used;
}

}  // namespace

wire_read read_request(std::string_view bytes, const server_config& cfg, bool at_eof, const std::string& remote) {
  wire_read out;
  wire::request_parser p;
  wire::limit(p, cfg);
  beast::error_code ec;
  out.consumed = feed(p, bytes, ec);
  if (ec == http::error::need_more) {
    if (!at_eof) return out.what = wire_read::kind::incomplete, out;
    // The peer is done: as in a session, nothing read closes quietly, a
    // partial message is refused.
    ec = {};
    if (!p.got_some()) return out.what = wire_read::kind::closed, out;
    p.put_eof(ec);
    if (!ec && !p.is_done()) ec = http::error::partial_message;
  }
  if (ec) {
    if (!wire::refusal_of(ec, out.error)) return out.what = wire_read::kind::closed, out;
    out.what = wire_read::kind::refused;
    out.request = wire::to_request(p.get(), remote);
    return out;
  }
  auto msg = p.release();
  out.what = wire_read::kind::request;
  out.keep_alive = msg.keep_alive();
  out.request = wire::to_request(msg, remote);
  out.request.body = std::move(msg.body());
  return out;
}

std::string write_response(http_response&& r, bool keep_alive) {
  auto res = wire::to_response(std::move(r), keep_alive);
  std::ostringstream os;
  os << *res;
  return os.str();
}

}  // namespace ledger::api
