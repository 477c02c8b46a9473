// A Server-Sent Events client for the e2e tests, on a plain socket.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "tests/api/e2e_support.h"

namespace ledger::e2e {

struct sse_event {
  std::string id, name, data;
};

// A Server-Sent Events client on a plain socket: sends one GET, then parses
// the close-delimited event stream. `rcvbuf_bytes` > 0 shrinks the socket's
// receive buffer (before connecting) so a client that stops reading makes
// the server's queue fill soon.
class sse_client {
 public:
  sse_client(unsigned short port, const std::string& target, const std::string& token, header_list extra = {},
             int rcvbuf_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    if (rcvbuf_bytes > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    for (auto& [k, v] : extra) req += k + ": " + v + "\r\n";
    req += "\r\n";
    REQUIRE(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  }
  ~sse_client() {
    if (fd_ >= 0) ::close(fd_);
  }

  // The status line and headers; false on timeout or close.
  bool read_head(ms timeout = ms(10'000)) {
    while (head_.empty()) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        head_ = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        status = static_cast<unsigned>(std::stoi(head_.substr(9, 3)));
        return true;
      }
      if (!fill(timeout)) return false;
    }
    return true;
  }
  std::string header_block() const { return head_; }

  // The next event (comments skipped); nullopt after `timeout` or at the end.
  std::optional<sse_event> next(ms timeout = ms(10'000)) {
    if (!read_head(timeout)) return std::nullopt;
    for (;;) {
      auto end = buf_.find("\n\n");
      if (end != std::string::npos) {
        std::string block = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        sse_event e;
        bool any = false;
        for (std::size_t at = 0; at < block.size();) {
          auto nl = block.find('\n', at);
          if (nl == std::string::npos) nl = block.size();
          std::string line = block.substr(at, nl - at);
          at = nl + 1;
          if (line.rfind("id: ", 0) == 0) e.id = line.substr(4), any = true;
          else if (line.rfind("event: ", 0) == 0) e.name = line.substr(7), any = true;
          else if (line.rfind("data: ", 0) == 0) e.data = line.substr(6), any = true;
        }
        if (any) return e;
        continue;
      }
      if (!fill(timeout)) return std::nullopt;
    }
  }
  bool closed() const { return closed_; }
  unsigned status = 0;
  std::string rest() const { return buf_; }

 private:
  bool fill(ms timeout) {
    if (closed_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char tmp[16384];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_, head_;
  bool closed_ = false;
};

}  // namespace ledger::e2e
