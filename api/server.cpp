#include "api/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <array>
#include <deque>
#include <map>
#include <thread>

#include "api/http_wire_beast.h"

namespace ledger::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

namespace websocket = beast::websocket;

constexpr std::size_t ws_message_in_max = 4096;  // clients only send control frames and small messages
// A streaming connection's kernel send buffer: fixed (no autotuning to
// megabytes), so what a stalled client holds in the kernel is bounded too
// and a slow consumer shows in its queue soon.
constexpr int stream_send_buffer_bytes = 256 * 1024;
// What is read and dropped of a streamed body answered early, before close.
constexpr std::size_t linger_bytes_max = 1 << 20;
constexpr int linger_ms = 1000;

// A WebSocket taken over from an HTTP session after the service accepted
// the upgrade: one text frame per piece of the body stream, in order, one
// write at a time; what the client sends is read (control frames: ping,
// close) and dropped. Beast's suggested server timeouts (handshake, idle
// with pings) bound a dead peer.
class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(beast::tcp_stream&& s, std::shared_ptr<body_stream> body, http::request<http::string_body>&& req,
             std::shared_ptr<void> keep)
      : ws_(std::move(s)), body_(std::move(body)), req_(std::move(req)), keep_(std::move(keep)) {}
  ~ws_session() { finish(); }

  void run() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(ws_message_in_max);
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->finish();
      self->body_->start([weak = self->weak_from_this()] {
        if (auto me = weak.lock()) net::post(me->ws_.get_executor(), [me] { me->pump(); });
      });
      self->read_loop();
      self->pump();
    });
  }

 private:
  void read_loop() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      self->in_.consume(self->in_.size());
      self->read_loop();
    });
  }

  void pump() {
    if (writing_ || done_ || closing_) return;
    if (out_.empty() && more_) {
      std::vector<std::string> pieces;
      more_ = body_->pull(pieces);
      for (auto& p : pieces) out_.push_back(std::move(p));
    }
    if (out_.empty()) {
      if (!more_) close();
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(out_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->finish();
      self->out_.pop_front();
      self->pump();
    });
  }

  void close() {
    closing_ = true;
    auto reason = body_->close_reason().substr(0, 123);
    websocket::close_reason cr(reason.empty() ? websocket::close_code::normal : websocket::close_code::try_again_later,
                               beast::string_view(reason));
    ws_.async_close(cr, [self = shared_from_this()](beast::error_code) { self->finish(); });
  }

  void finish() {
    if (done_) return;
    done_ = true;
    body_->stop();
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<body_stream> body_;
  http::request<http::string_body> req_;
  std::shared_ptr<void> keep_;  // the HTTP session: an open connection until this ends
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  bool writing_ = false, more_ = true, closing_ = false, done_ = false;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, http_handler& svc, const server_config& cfg, std::shared_ptr<std::atomic<std::size_t>> count)
      : stream_(std::move(socket)), svc_(svc), cfg_(cfg), count_(std::move(count)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~session() {
    if (body_ && !stream_done_) body_->stop();
    (*count_)--;
  }

  void start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

  // From any thread: close once every response owed has been written.
  void begin_close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close_when_idle(); });
  }

 private:
  void do_read() {
    if (reading_ || closing_ || body_open_ || pending_ >= cfg_.pipeline_max) return;
    reading_ = true;
    parser_.emplace();
    wire::limit(*parser_, cfg_);
    stream_.expires_after(std::chrono::milliseconds(cfg_.read_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  // The header is in: a streamed route's body goes to its handler piece by
  // piece; any other body is read whole under body_bytes_max.
  void on_header(beast::error_code ec, std::size_t n) {
    if (ec || streaming_) return on_read(ec, n);
    transport_error refusal;
    std::size_t streamed_max = 0;
    if (!wire::limit_body(*parser_, cfg_, streamed_max, refusal)) {
      reading_ = false;
      return reject(refusal);
    }
    if (streamed_max) {
      reading_ = false;
      return begin_body(streamed_max);
    }
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (streaming_) return watch_close();  // the read cancelled when a stream began
    if (ec) {
      transport_error refusal;
      if (wire::refusal_of(ec, refusal)) return reject(refusal);
      return close_when_idle();
    }
    auto msg = parser_->release();
    bool keep_alive = msg.keep_alive();
    // An upgrade ends the HTTP part of the connection: read nothing after it.
    bool upgrade = websocket::is_upgrade(msg);
    if (upgrade) upgrade_req_ = msg;
    http_request req = wire::to_request(msg, remote_);
    req.body = std::move(msg.body());
    std::size_t slot = open_slot(keep_alive);
    svc_.handle(std::move(req), responder_for(slot));
    if (keep_alive && !upgrade) do_read();
  }

  // A streamed body: the handler gets the request now and pulls the body
  // through a body_source; no other request is read until the body ends.
  void begin_body(std::size_t limit) {
    body_parser_.emplace(std::move(*parser_));
    parser_.reset();
    body_parser_->body_limit(limit);
    body_open_ = true;
    body_keep_alive_ = body_parser_->get().keep_alive();
    body_deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg_.streamed_deadline_ms);
    piece_.resize(cfg_.streamed_piece_bytes);
    auto expect = body_parser_->get()[http::field::expect];
    expect_continue_ = beast::iequals(expect, "100-continue");
    http_request req = wire::to_request(body_parser_->get(), remote_);
    req.body_in = std::make_shared<session_body>(shared_from_this());
    std::size_t slot = open_slot(body_keep_alive_);
    body_slot_ = slot;
    svc_.handle(std::move(req), responder_for(slot));
  }

  using piece_done = std::function<void(const body_source::piece&)>;

  // The body_source a streamed request's handler reads through.
  class session_body final : public body_source {
   public:
    explicit session_body(std::shared_ptr<session> s) : s_(std::move(s)) {}
    void read(piece_done done) override {
      net::post(s_->stream_.get_executor(), [s = s_, done = std::move(done)] { s->read_piece(done); });
    }

   private:
    std::shared_ptr<session> s_;
  };

  void read_piece(const piece_done& done) {
    if (!body_open_ || !body_parser_) return done({{}, false, "the request body was lost"});
    // A client that waits for "100 Continue" (curl, for large bodies) gets
    // it once the route wants the body, unless a response is being written
    // (it then sends after its own wait).
    if (expect_continue_ && !writing_) {
      expect_continue_ = false;
      writing_ = true;
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(std::chrono::milliseconds(cfg_.write_timeout_ms));
      return net::async_write(stream_, net::buffer(go_on.data(), go_on.size()),
                              [self = shared_from_this(), done](beast::error_code ec, std::size_t) {
                                self->writing_ = false;
                                if (ec) return self->lose_body(done, "the connection was lost");
                                self->write_next();
                                self->read_piece(done);
                              });
    }
    expect_continue_ = false;
    if (body_parser_->is_done()) return end_body(done, 0);
    auto left = body_deadline_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return lose_body(done, "the upload took longer than allowed", true);
    auto idle = std::chrono::milliseconds(cfg_.streamed_idle_timeout_ms);
    stream_.expires_after(std::min<std::chrono::steady_clock::duration>(idle, left));
    auto& b = body_parser_->get().body();
    b.data = piece_.data();
    b.size = piece_.size();
    http::async_read(stream_, buffer_, *body_parser_, [self = shared_from_this(), done](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec == beast::error::timeout) return self->lose_body(done, "the client sent nothing for too long, or the upload took longer than allowed", true);
      if (ec == http::error::body_limit) return self->lose_body(done, "the request body exceeds the limit");
      if (ec) return self->lose_body(done, "the request body ended early or is malformed");
      std::size_t n = self->piece_.size() - self->body_parser_->get().body().size;
      if (self->body_parser_->is_done()) return self->end_body(done, n);
      done({std::string_view(self->piece_.data(), n), false, nullptr});
    });
  }

  // The body is whole: the last piece to the handler, and the connection
  // reads its next request.
  void end_body(const piece_done& done, std::size_t n) {
    body_open_ = false;
    body_parser_.reset();
    done({std::string_view(piece_.data(), n), true, nullptr});
    if (body_keep_alive_ && !closing_) do_read();
  }

  // The body cannot be read to its end: the connection closes after the
  // handler's answer.
  void lose_body(const piece_done& done, const char* why, bool timed_out = false) {
    body_open_ = false;
    body_parser_.reset();
    closing_ = true;
    done({{}, false, why, timed_out});
  }

  // A place in the response order for the request just read.
  std::size_t open_slot(bool keep_alive) {
    std::size_t slot = next_slot_++;
    slots_[slot] = std::nullopt;
    keep_alive_[slot] = keep_alive;
    ++pending_;
    return slot;
  }

  // Responses come from any thread; they are written on the strand, in order.
  responder responder_for(std::size_t slot) {
    return [self = shared_from_this(), slot](http_response&& r) {
      net::post(self->stream_.get_executor(),
                [self, slot, r = std::move(r)]() mutable { self->on_response(slot, std::move(r)); });
    };
  }

  // A request the parser refused: the handler answers it (with what was read
  // of it, for the request id and CORS), then the connection closes.
  void reject(const transport_error& e) {
    http_request partial;
    // The fields read so far: all of them for a body over the limit (Beast
    // refuses it once the header is complete), fewer for the other errors.
    if (parser_) partial = wire::to_request(parser_->get(), remote_);
    partial.remote = remote_;
    closing_ = true;
    std::size_t slot = open_slot(false);
    svc_.reject(std::move(partial), e, responder_for(slot));
  }

  void on_response(std::size_t slot, http_response&& r) {
    // Answered before its streamed body ended: nothing more is read here.
    if (body_open_ && slot == body_slot_) closing_ = true;
    if (r.stream) streams_[slot] = {std::move(r.stream), r.websocket};
    bool streamed = streams_.count(slot) > 0;
    auto res = wire::to_response(std::move(r), keep_alive_[slot] && !closing_ && !streamed);
    // A streamed body has no length: it ends when the connection closes.
    if (streamed) res->erase(http::field::content_length);
    slots_[slot] = res;
    write_next();
  }

  void write_next() {
    if (writing_) return;
    auto it = slots_.find(write_slot_);
    if (it == slots_.end() || !it->second) return;
    writing_ = true;
    auto res = *it->second;
    slots_.erase(it);
    keep_alive_.erase(write_slot_);
    if (auto st = streams_.find(write_slot_); st != streams_.end()) {
      auto [body, ws] = std::move(st->second);
      streams_.erase(st);
      ++write_slot_;
      return begin_stream(res, std::move(body), ws);
    }
    ++write_slot_;
    stream_.expires_after(std::chrono::milliseconds(cfg_.write_timeout_ms));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      self->on_write(ec, res->keep_alive());
    });
  }

  void on_write(beast::error_code ec, bool keep_alive) {
    writing_ = false;
    --pending_;
    if (ec) {
      closing_ = true;
      return shutdown();
    }
    if (!keep_alive) closing_ = true;
    if (closing_ && pending_ == 0) return shutdown();
    write_next();
    do_read();
  }

  // The response to write_slot_ streams its body: no more requests on this
  // connection; the header, then the pieces as they come, then close.
  void begin_stream(const std::shared_ptr<http::response<http::string_body>>& res, std::shared_ptr<body_stream> body,
                    bool ws) {
    closing_ = true;
    streaming_ = true;
    body_ = std::move(body);
    if (ws) {
      if (!upgrade_req_ || reading_) return end_stream();
      stream_.expires_never();  // the WebSocket keeps its own timeouts
      beast::error_code ignored;
      stream_.socket().set_option(net::socket_base::send_buffer_size(stream_send_buffer_bytes), ignored);
      auto w = std::make_shared<ws_session>(std::move(stream_), body_, std::move(*upgrade_req_), shared_from_this());
      stream_done_ = true;  // the WebSocket owns the body now
      return w->run();
    }
    if (reading_) stream_.socket().cancel();  // on_read then watches for the client leaving
    beast::error_code ignored;
    stream_.socket().set_option(net::socket_base::send_buffer_size(stream_send_buffer_bytes), ignored);
    writing_ = true;
    auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
    stream_.expires_after(std::chrono::milliseconds(cfg_.write_timeout_ms));
    http::async_write_header(stream_, *sr, [self = shared_from_this(), sr, res](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->end_stream();
      if (!self->reading_) self->watch_close();
      self->body_->start([weak = self->weak_from_this()] {
        if (auto me = weak.lock()) net::post(me->stream_.get_executor(), [me] { me->pump(); });
      });
      self->pump();
    });
  }

  // Writes what the body has ready, one write at a time; the write timeout
  // bounds a client that stopped reading.
  void pump() {
    if (writing_ || stream_done_) return;
    std::vector<std::string> pieces;
    bool more = body_->pull(pieces);
    auto buf = std::make_shared<std::string>();
    for (auto& p : pieces) *buf += p;
    if (buf->empty()) {
      if (!more) end_stream();
      return;
    }
    writing_ = true;
    stream_.expires_after(std::chrono::milliseconds(cfg_.write_timeout_ms));
    net::async_write(stream_, net::buffer(*buf), [self = shared_from_this(), buf, more](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec || !more) return self->end_stream();
      self->pump();
    });
  }

  // While streaming, a read on the bare socket notices the client leaving
  // (whatever it sends is dropped).
  void watch_close() {
    if (stream_done_ || watching_) return;
    watching_ = true;
    stream_.socket().async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->watching_ = false;
      if (ec) return self->end_stream();
      self->watch_close();
    });
  }

  void end_stream() {
    if (stream_done_) return;
    stream_done_ = true;
    if (body_) body_->stop();
    shutdown();
  }

  void close_when_idle() {
    if (streaming_) return end_stream();  // a drain ends live streams; clients resume from their last id
    closing_ = true;
    if (pending_ == 0) shutdown();
  }

  void shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    // A body left unread would make close() send a reset, which can destroy
    // the answer before the client reads it: read and drop a bounded amount
    // first, for a bounded time.
    if (body_open_) {
      body_open_ = false;
      body_parser_.reset();
      return drain_unread(linger_bytes_max);
    }
    stream_.socket().close(ec);
  }

  void drain_unread(std::size_t left) {
    stream_.expires_after(std::chrono::milliseconds(linger_ms));
    stream_.async_read_some(net::buffer(piece_), [self = shared_from_this(), left](beast::error_code ec, std::size_t n) {
      if (ec || n >= left) {
        beast::error_code ignored;
        return self->stream_.socket().close(ignored);
      }
      self->drain_unread(left - n);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http_handler& svc_;
  const server_config& cfg_;
  std::shared_ptr<std::atomic<std::size_t>> count_;
  std::string remote_;
  // Strand-protected.
  std::map<std::size_t, std::optional<std::shared_ptr<http::response<http::string_body>>>> slots_;
  std::map<std::size_t, bool> keep_alive_;
  std::size_t next_slot_ = 0, write_slot_ = 0, pending_ = 0;
  bool reading_ = false, writing_ = false, closing_ = false;
  // Streaming responses (strand-protected).
  std::map<std::size_t, std::pair<std::shared_ptr<body_stream>, bool>> streams_;  // by slot: body, websocket
  std::optional<http::request<http::string_body>> upgrade_req_;
  std::shared_ptr<body_stream> body_;
  std::array<char, 256> discard_{};
  bool streaming_ = false, stream_done_ = false, watching_ = false;
  // A streamed request body (strand-protected).
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  std::vector<char> piece_;
  std::chrono::steady_clock::time_point body_deadline_{};
  std::size_t body_slot_ = 0;  // the request whose body is streamed
  bool body_open_ = false, body_keep_alive_ = false, expect_continue_ = false;
};

// Accepts connections (Beast's advanced server: one listener, a session per
// connection on its own strand). Runs on the I/O threads; stop() may be
// called from any thread (it is posted to the acceptor's executor).
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, http_handler& svc, const server_config& cfg,
           std::shared_ptr<std::atomic<std::size_t>> count)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), svc_(svc), cfg_(cfg), count_(std::move(count)) {}

  // Binds and listens; the bound port in `port`.
  status open(unsigned short& port) {
    beast::error_code ec;
    auto addr = net::ip::make_address(cfg_.address, ec);
    if (ec) return status::invalid_argument("listen address " + cfg_.address + ": " + ec.message());
    tcp::endpoint ep(addr, cfg_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return status::io_error("listening on " + cfg_.address + ":" + std::to_string(cfg_.port) + ": " + ec.message());
    port = acceptor_.local_endpoint().port();
    return status::ok();
  }

  void run() { do_accept(); }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

  // The sessions still open, for a graceful drain; forgets them.
  std::vector<std::shared_ptr<session>> take_sessions() {
    std::vector<std::shared_ptr<session>> live;
    std::lock_guard lock(mu_);
    for (auto& w : sessions_)
      if (auto sp = w.lock()) live.push_back(std::move(sp));
    sessions_.clear();
    return live;
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) start_session(std::move(socket));
    do_accept();
  }

  void start_session(tcp::socket&& socket) {
    if (count_->load() >= cfg_.connections_max) {
      beast::error_code ignored;
      socket.close(ignored);  // over the limit: refuse rather than queue
      return;
    }
    (*count_)++;
    auto sess = std::make_shared<session>(std::move(socket), svc_, cfg_, count_);
    {
      std::lock_guard lock(mu_);
      // Forget sessions that have ended, so the list stays as long as the connection cap.
      std::erase_if(sessions_, [](const std::weak_ptr<session>& w) { return w.expired(); });
      sessions_.push_back(sess);
    }
    sess->start();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  http_handler& svc_;
  const server_config& cfg_;
  std::shared_ptr<std::atomic<std::size_t>> count_;
  std::mutex mu_;
  std::vector<std::weak_ptr<session>> sessions_;  // protected by mu_
};

}  // namespace

struct server::impl {
  net::io_context ioc;
  std::shared_ptr<listener> accept;
  std::vector<std::thread> threads;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
};

server::server(http_handler& svc, server_config config)
    : impl_(std::make_unique<impl>()), svc_(svc), config_(std::move(config)),
      connections_(std::make_shared<std::atomic<std::size_t>>(0)) {
  impl_->accept = std::make_shared<listener>(impl_->ioc, svc_, config_, connections_);
}

server::~server() { stop(); }

status server::listen() { return impl_->accept->open(port_); }

void server::run() {
  impl_->work.emplace(net::make_work_guard(impl_->ioc));
  impl_->accept->run();
  for (int i = 1; i < config_.io_threads; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
}

void server::stop_accepting() { impl_->accept->stop(); }

void server::drain() {
  stop_accepting();
  for (auto& s : impl_->accept->take_sessions()) s->begin_close();
  // With no work guard, run() returns once the last connection is done.
  net::post(impl_->ioc, [this] { impl_->work.reset(); });
}

void server::stop() {
  if (!impl_) return;
  impl_->work.reset();
  impl_->ioc.stop();
}

std::function<void(std::function<void()>)> server::dispatcher() {
  return [this](std::function<void()> f) { net::post(impl_->ioc, std::move(f)); };
}

}  // namespace ledger::api
