// A private redis-server (Debian's package) for tests.
//
// Operation: the constructor makes a fresh directory, picks a free loopback
// port and starts `redis-server` bound to 127.0.0.1 only, without
// persistence, logging into the directory. It returns once the server
// answers PING. stop() and start() let a test take the server away and bring
// it back on the same port. The destructor stops it and removes the
// directory.
//
// Concurrency: not thread-safe; one thread owns an instance. The server is
// told to die with the thread that started it, so a crashed test leaves no
// server behind.
//
// Limits: every wait is bounded (start_timeout_ms, stop_timeout_ms). Errors
// throw std::runtime_error with the tail of the server log.
#pragma once

#include <string>
#include <sys/types.h>

#include "tests/support/temp_dir.h"

namespace ledger::testing {

class redis_instance {
 public:
  // password: empty for none, else the server requires it (requirepass).
  explicit redis_instance(std::string password = {});
  ~redis_instance();
  redis_instance(const redis_instance&) = delete;
  redis_instance& operator=(const redis_instance&) = delete;

  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // SIGTERM, waiting at most stop_timeout_ms, then SIGKILL. No-op when stopped.
  void stop();
  // Starts again on the same port; no-op when running. Throws on failure.
  void start();
  bool running() const { return pid_ > 0; }
  std::string log_tail() const;

  int start_timeout_ms = 10'000;
  int stop_timeout_ms = 10'000;

 private:
  bool try_start();  // false when the port was taken
  temp_dir dir_{"ledger-redis"};
  std::string password_;
  int port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace ledger::testing
