#include "tests/support/redis_instance.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ledger::testing {

namespace {

using steady = std::chrono::steady_clock;
constexpr auto poll_interval = std::chrono::milliseconds(20);
constexpr int port_attempts_max = 5;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("redis_instance: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("redis_instance: could not find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True when a server on `port` answers PING (with AUTH when needed).
bool answers(int port, const std::string& password) {
  timeval tv{0, 200'000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    bool authed = true;
    if (!password.empty()) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "AUTH %s", password.c_str()));
      authed = r && r->type != REDIS_REPLY_ERROR;
      if (r) freeReplyObject(r);
    }
    auto* r = authed ? static_cast<redisReply*>(redisCommand(c, "PING")) : nullptr;
    ok = r && r->type == REDIS_REPLY_STATUS;
    if (r) freeReplyObject(r);
  }
  if (c) redisFree(c);
  return ok;
}

}  // namespace

redis_instance::redis_instance(std::string password) : password_(std::move(password)) {
  for (int i = 0; i < port_attempts_max; ++i) {
    port_ = free_port();
    if (try_start()) return;
  }
  throw std::runtime_error("redis_instance: no free port after retries\n" + log_tail());
}

redis_instance::~redis_instance() { stop(); }

void redis_instance::start() {
  if (pid_ > 0) return;
  if (!try_start()) throw std::runtime_error("redis_instance: port " + std::to_string(port_) + " taken\n" + log_tail());
}

bool redis_instance::try_start() {
  std::string log = dir_.str() + "/redis.log";
  std::vector<std::string> args = {"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                   "--dir", dir_.str(), "--save", "", "--appendonly", "no", "--daemonize", "no",
                                   "--logfile", log};
  if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("redis_instance: fork() failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  const auto deadline = steady::now() + std::chrono::milliseconds(start_timeout_ms);
  while (steady::now() < deadline) {
    if (answers(port_, password_)) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      if (log_tail().find("Address already in use") != std::string::npos) return false;
      throw std::runtime_error("redis_instance: redis-server exited at start\n" + log_tail());
    }
    std::this_thread::sleep_for(poll_interval);
  }
  stop();
  throw std::runtime_error("redis_instance: redis-server did not answer in time\n" + log_tail());
}

void redis_instance::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = steady::now() + std::chrono::milliseconds(stop_timeout_ms);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (steady::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(poll_interval);
  }
  pid_ = 0;
}

std::string redis_instance::log_tail() const {
  std::ifstream in(dir_.str() + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 4096 ? s.substr(s.size() - 4096) : s;
}

}  // namespace ledger::testing
