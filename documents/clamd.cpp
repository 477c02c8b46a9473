#include "documents/clamd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ledger::documents {

namespace {

constexpr std::size_t chunk_bytes = 64 * 1024;
constexpr std::size_t reply_bytes_max = 1024;

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool send_length(int fd, std::uint32_t n) {
  char b[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  return send_all(fd, b, 4);
}

status connect_to(const std::string& path, int timeout_ms, int& fd) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return status::invalid_argument("clamd socket path too long");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return status::unavailable(std::string("clamd: socket: ") + std::strerror(errno));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return status::unavailable(std::string("clamd: connect ") + path + ": " + std::strerror(errno));
  return status::ok();
}

}  // namespace

status clamd_scanner::scan(std::string_view content, scan_result& out) const {
  clamd_stream s(*this);
  if (auto st = s.open(); !st) return st;
  for (std::size_t at = 0; at < content.size(); at += chunk_bytes) s.send(content.substr(at, chunk_bytes));
  return s.finish(out);
}

clamd_stream::~clamd_stream() {
  if (fd_ >= 0) ::close(fd_);
}

status clamd_stream::open() {
  if (auto st = connect_to(scanner_.socket_path(), scanner_.timeout_ms(), fd_); !st) return st;
  static const char command[] = "zINSTREAM";
  sent_ = send_all(fd_, command, sizeof command);  // with its NUL
  return status::ok();
}

void clamd_stream::send(std::string_view bytes) {
  for (std::size_t at = 0; sent_ && fd_ >= 0 && at < bytes.size(); at += chunk_bytes) {
    auto piece = bytes.substr(at, chunk_bytes);
    sent_ = send_length(fd_, static_cast<std::uint32_t>(piece.size())) && send_all(fd_, piece.data(), piece.size());
  }
}

status clamd_stream::finish(scan_result& out) {
  out = {};
  if (fd_ < 0) return status::unavailable("clamd: not connected");
  fd_guard g{fd_};
  fd_ = -1;
  // clamd may close early (size limit) after answering: read the reply anyway.
  bool sent = sent_ && send_length(g.fd, 0);
  std::string reply;
  char buf[256];
  while (reply.size() < reply_bytes_max && reply.find('\0') == std::string::npos) {
    ssize_t n = ::recv(g.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  if (auto z = reply.find('\0'); z != std::string::npos) reply.resize(z);
  if (reply == "stream: OK") return status::ok();
  const std::string found = " FOUND", prefix = "stream: ";
  if (reply.size() > prefix.size() + found.size() && reply.rfind(prefix, 0) == 0 &&
      reply.compare(reply.size() - found.size(), found.size(), found) == 0) {
    out.infected = true;
    out.signature = reply.substr(prefix.size(), reply.size() - prefix.size() - found.size());
    return status::ok();
  }
  if (reply.empty()) return status::unavailable(sent ? "clamd: no answer" : "clamd: the connection failed while sending");
  return status::unavailable("clamd: " + reply);
}

}  // namespace ledger::documents
