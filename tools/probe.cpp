// ledgerd probe URL: a minimal HTTP/1.1 GET for container health checks,
// with no library beyond the socket API: 0 on a 200 answer within two
// seconds, else 1.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>

#include "tools/ledgerd.h"

namespace ledger::tools {

namespace {

constexpr auto probe_timeout = std::chrono::seconds(2);

struct probe_target {
  std::string hostport, host, port, path;
};

probe_target parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) die("probe: only http:// URLs: " + url);
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  probe_target t;
  t.hostport = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = t.hostport.rfind(':');
  t.host = colon == std::string::npos ? t.hostport : t.hostport.substr(0, colon);
  t.port = colon == std::string::npos ? "80" : t.hostport.substr(colon + 1);
  return t;
}

// A non-blocking socket connecting to the target, or -1 after saying why.
int connect_to(const probe_target& t) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &res) != 0 || !res) {
    std::fprintf(stderr, "probe: cannot resolve %s\n", t.host.c_str());
    return -1;
  }
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK, res->ai_protocol);
  int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (fd < 0 || (rc != 0 && errno != EINPROGRESS)) {
    if (fd >= 0) ::close(fd);
    std::fprintf(stderr, "probe: cannot connect to %s\n", t.hostport.c_str());
    return -1;
  }
  return fd;
}

// Sends the request and reads up to the end of the status line, all before
// `deadline`. Returns the status line, or empty.
std::string exchange_status_line(int fd, const probe_target& t, std::chrono::steady_clock::time_point deadline) {
  auto wait = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{fd, events, 0};
    return left > 0 && ::poll(&p, 1, int(left)) == 1 && !(p.revents & (POLLERR | POLLNVAL));
  };
  std::string req = "GET " + t.path + " HTTP/1.1\r\nHost: " + t.hostport + "\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    if (!wait(POLLOUT)) break;
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += std::size_t(n);
  }
  std::string answer;
  char buf[512];
  while (sent == req.size() && answer.find("\r\n") == std::string::npos && answer.size() < 8192 && wait(POLLIN)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, std::size_t(n));
  }
  return answer.substr(0, answer.find("\r\n"));
}

}  // namespace

int run_probe(const std::string& url) {
  auto t = parse_url(url);
  int fd = connect_to(t);
  if (fd < 0) return 1;
  std::string line = exchange_status_line(fd, t, std::chrono::steady_clock::now() + probe_timeout);
  ::close(fd);
  std::printf("%s\n", line.empty() ? "probe: no answer" : line.c_str());
  return line.rfind("HTTP/1.1 200", 0) == 0 || line.rfind("HTTP/1.0 200", 0) == 0 ? 0 : 1;
}

}  // namespace ledger::tools
