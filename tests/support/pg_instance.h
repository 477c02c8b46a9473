// A private PostgreSQL server for tests and benchmarks.
//
// Operation: the constructor creates a fresh directory under $TMPDIR (or
// /tmp), runs initdb into it and starts `postgres` from Debian's packages,
// listening only on 127.0.0.1 on a free ephemeral port and on a unix socket
// inside that directory. It returns once the server accepts connections. The
// destructor stops the server and removes the directory with everything in it.
//
// Root: initdb and postgres refuse to run as root, so when the process is root
// the directory is handed to the `postgres` system user (created by Debian's
// postgresql-common package) and both programs run as that user; the server
// still answers as database user `postgres` with trust authentication. When
// the process is a normal user, everything runs as that user.
//
// Concurrency: not thread-safe; one thread owns an instance. The server is
// this process's child and is told to shut down immediately if the thread
// that started it exits, so a crashed test does not leave a server behind.
// Any number of instances may run at once, each on its own port.
//
// Limits: every wait is bounded (see pg_instance_options). Errors throw
// std::runtime_error whose message ends with the tail of the server log.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ledger::testing {

struct pg_instance_options {
  // Sized for a 2-core, 24 GiB machine running one or two instances.
  std::string shared_buffers = "256MB";
  int max_connections = 100;
  // Durability stays on by default so benchmarks measure what production pays;
  // tests that only need speed may turn these off.
  bool fsync = true;
  bool synchronous_commit = true;
  // Appended to postgresql.conf after the settings above, so they win.
  std::vector<std::string> extra_conf_lines;

  // Directory holding initdb and postgres. Empty: $LEDGER_PG_BIN_DIR, else the
  // newest /usr/lib/postgresql/<version>/bin.
  std::filesystem::path bin_dir;
  // System user the server runs as when this process is root.
  std::string root_run_as_user = "postgres";

  int initdb_timeout_ms = 120'000;
  int start_timeout_ms = 30'000;
  int stop_timeout_ms = 30'000;
  // Fresh ports tried when the chosen one is taken between choosing and binding.
  int port_attempts_max = 5;
};

// Options for a server whose data the test throws away: no fsync, no
// synchronous commit, small buffers. For tests that check logic, not the
// durability of what PostgreSQL holds.
pg_instance_options disposable_pg_options();

class pg_instance {
 public:
  // Creates the directory, runs initdb and starts the server. Throws
  // std::runtime_error if any step fails; nothing is left behind then.
  explicit pg_instance(pg_instance_options options = {});
  // Stops the server (fast, then immediate, then kill) and removes the directory.
  ~pg_instance();

  pg_instance(const pg_instance&) = delete;
  pg_instance& operator=(const pg_instance&) = delete;

  // libpq key=value form over TCP, e.g.
  // "host=127.0.0.1 port=41234 user=postgres dbname=postgres".
  std::string connection_string(const std::string& dbname = "postgres") const;
  int port() const { return port_; }

  // Fast shutdown, waiting at most stop_timeout_ms before escalating to
  // immediate shutdown and then SIGKILL. No-op when not running.
  void stop();
  // Starts the server again on the same data directory and port; no-op when
  // running. Throws if the port has been taken meanwhile or the server does
  // not accept connections within start_timeout_ms.
  void start();
  // True while the server process is alive (it may have died on its own).
  bool running() const;

  // CREATE DATABASE `name` and return its connection string. Throws
  // std::runtime_error if the server refuses (e.g. the name exists).
  std::string create_database(const std::string& name);

  const std::filesystem::path& directory() const { return dir_.path; }
  std::filesystem::path data_directory() const { return dir_.path / "data"; }
  std::filesystem::path log_path() const { return dir_.path / "server.log"; }
  // The last `bytes_max` bytes of the server log, for error messages.
  std::string log_tail(std::size_t bytes_max = 4096) const;

 private:
  // Removes the directory tree when destroyed, so a constructor that throws
  // half-way still cleans up.
  struct owned_dir {
    std::filesystem::path path;
    owned_dir() = default;
    owned_dir(const owned_dir&) = delete;
    owned_dir& operator=(const owned_dir&) = delete;
    ~owned_dir();
  };

  void init_directory();
  void run_initdb();
  void write_config();
  // One attempt to start on port_; returns false only if the port was taken.
  bool try_start();
  void wait_until_ready(off_t log_offset);
  void kill_after_failed_start();
  [[noreturn]] void fail(const std::string& what, off_t log_offset = 0) const;

  // Constant after construction.
  pg_instance_options options_;
  std::filesystem::path bin_dir_;
  bool drop_privileges_ = false;
  uid_t run_uid_ = 0;
  gid_t run_gid_ = 0;
  std::vector<gid_t> run_groups_;
  owned_dir dir_;
  int port_ = 0;

  // The postmaster's pid while it runs or until reaped, else 0.
  pid_t pid_ = 0;
};

}  // namespace ledger::testing
