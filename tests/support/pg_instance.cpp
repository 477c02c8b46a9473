#include "tests/support/pg_instance.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pqxx/pqxx>

namespace ledger::testing {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// Short enough that start-up and shutdown are noticed promptly, long enough
// not to burn a core while a 2-core machine is busy starting the server.
constexpr std::chrono::milliseconds poll_interval{20};
// After fast shutdown times out: how long immediate shutdown gets before SIGKILL.
constexpr int immediate_shutdown_timeout_ms = 5'000;
// Each readiness probe gives up quickly so the overall deadline is honoured.
constexpr int probe_connect_timeout_s = 2;
constexpr std::size_t groups_max = 256;
// sun_path is 108 bytes including the terminating NUL.
constexpr std::size_t unix_socket_path_max = sizeof(sockaddr_un::sun_path) - 1;
constexpr const char* dir_prefix = "ledger-pg-";

std::string errno_text(int err) { return std::strerror(err); }

// The tail of `path` from `offset`, at most `bytes_max` bytes, starting at a
// line boundary when one is near so messages are not cut mid-line.
std::string file_tail(const fs::path& path, off_t offset, std::size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path.string() + ")";
  in.seekg(0, std::ios::end);
  const auto size = static_cast<off_t>(in.tellg());
  off_t begin = std::max(offset, size - static_cast<off_t>(bytes_max));
  begin = std::clamp<off_t>(begin, 0, size);
  in.seekg(begin);
  std::string text(static_cast<std::size_t>(size - begin), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (begin > offset) {
    const auto newline = text.find('\n');
    if (newline != std::string::npos && newline + 1 < text.size()) text.erase(0, newline + 1);
  }
  return text.empty() ? "(log empty)" : text;
}

off_t size_or_zero(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with status " + std::to_string(status);
}

// Single-quoted form for postgresql.conf values.
std::string conf_quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

// libpq conninfo values containing spaces or quotes must be single-quoted.
std::string conninfo_quote(const std::string& value) {
  if (!value.empty() && value.find_first_of(" '\\\t\n") == std::string::npos) return value;
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

fs::path find_bin_dir(const fs::path& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("LEDGER_PG_BIN_DIR"); env && *env) return env;
  // Debian installs each major version side by side; prefer the newest.
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int version = std::atoi(name.c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "postgres")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "pg_instance: no PostgreSQL server found under /usr/lib/postgresql "
        "(install postgresql, or set LEDGER_PG_BIN_DIR)");
  }
  return best;
}

// Whether `uid` (with primary and supplementary `groups`) may search every
// directory from `dir` up to `/`, using the owner, then group, then other bits
// the way the kernel does (ACLs are not consulted).
bool traversable_by(const fs::path& dir, uid_t uid, const std::vector<gid_t>& groups) {
  for (fs::path p = dir;; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    bool ok;
    if (st.st_uid == uid) {
      ok = st.st_mode & S_IXUSR;
    } else if (std::find(groups.begin(), groups.end(), st.st_gid) != groups.end()) {
      ok = st.st_mode & S_IXGRP;
    } else {
      ok = st.st_mode & S_IXOTH;
    }
    if (!ok) return false;
    if (p == p.root_path()) return true;
  }
}

// $TMPDIR if the server's user can reach it and the socket path fits, else /tmp.
fs::path choose_base_dir(bool drop_privileges, uid_t uid, const std::vector<gid_t>& groups) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("TMPDIR"); env && *env) candidates.emplace_back(env);
  candidates.emplace_back("/tmp");
  const std::size_t suffix_size =
      std::strlen(dir_prefix) + std::strlen("XXXXXX/.s.PGSQL.65535.lock") + 1;
  std::string rejected;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    const fs::path base = fs::canonical(candidate, ec);
    if (ec || !fs::is_directory(base, ec)) {
      rejected += " " + candidate + " (not a directory)";
    } else if (base.string().size() + suffix_size > unix_socket_path_max) {
      rejected += " " + candidate + " (unix socket path would be too long)";
    } else if (drop_privileges && !traversable_by(base, uid, groups)) {
      rejected += " " + candidate + " (not searchable by the server's user)";
    } else {
      return base;
    }
  }
  throw std::runtime_error("pg_instance: no usable temporary directory:" + rejected);
}

// Asks the kernel for a free ephemeral port on 127.0.0.1. The port is free
// only until someone else binds it, so callers retry on collision.
int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("pg_instance: socket(): " + errno_text(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("pg_instance: could not find a free port: " + errno_text(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// What a child process needs; everything is prepared before fork() because
// only async-signal-safe calls are allowed between fork() and exec().
struct spawn_spec {
  std::vector<std::string> argv;
  fs::path working_dir;
  fs::path output_path;  // stdout and stderr are appended here
  bool drop_privileges = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool new_session = false;
  int parent_death_signal = SIGKILL;
};

[[noreturn]] void child_fail(const char* what) {
  // The message goes to the output file when it is already open, else to the
  // inherited stderr; exit code 127 tells the parent the exec did not happen.
  const char prefix[] = "pg_instance child: ";
  (void)!::write(STDERR_FILENO, prefix, sizeof prefix - 1);
  (void)!::write(STDERR_FILENO, what, std::strlen(what));
  (void)!::write(STDERR_FILENO, "\n", 1);
  ::_exit(127);
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void exec_child(const spawn_spec& spec, char* const* argv, char* const* envp,
                             pid_t parent_pid) {
  if (spec.new_session && ::setsid() < 0) child_fail("setsid failed");
  if (spec.drop_privileges) {
    if (::setgroups(spec.groups.size(), spec.groups.data()) != 0) child_fail("setgroups failed");
    if (::setgid(spec.gid) != 0) child_fail("setgid failed");
    if (::setuid(spec.uid) != 0) child_fail("setuid failed");
  }
  // Set after setuid(), which clears it. If the parent already died, stop now.
  if (::prctl(PR_SET_PDEATHSIG, spec.parent_death_signal) != 0) child_fail("prctl failed");
  if (::getppid() != parent_pid) ::_exit(126);
  if (::chdir(spec.working_dir.c_str()) != 0) child_fail("chdir failed");
  const int null_fd = ::open("/dev/null", O_RDONLY);
  const int out_fd = ::open(spec.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (null_fd < 0 || out_fd < 0) child_fail("opening /dev/null or the log file failed");
  if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
      ::dup2(out_fd, STDERR_FILENO) < 0) {
    child_fail("dup2 failed");
  }
  // Database connections and sockets of the test process must not leak in.
  ::close_range(3, ~0U, 0);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &default_action, nullptr);
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  ::execve(argv[0], argv, envp);
  child_fail("execve failed");
}

pid_t spawn(const spawn_spec& spec) {
  std::vector<char*> argv;
  for (const auto& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  // A fixed environment: PG* variables of the caller must not steer the server,
  // and the C locale keeps log messages in English for the checks below.
  std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C",
                                          "HOME=" + spec.working_dir.string()};
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t parent_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("pg_instance: fork(): " + errno_text(errno));
  if (pid == 0) exec_child(spec, argv.data(), envp.data(), parent_pid);
  return pid;
}

// Reaps `pid` if it exits within `timeout_ms`; returns its wait status.
std::optional<int> wait_for_exit(pid_t pid, int timeout_ms) {
  const auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // not our child any more: nothing to wait for
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
}

// The children of `pid`, found through /proc. Bounded so a broken /proc
// cannot stall a shutdown.
std::vector<pid_t> children_of(pid_t pid) {
  constexpr std::size_t children_max = 4096;
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    if (children.size() >= children_max) break;
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat_file(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat_file, line)) continue;
    // Format: pid (comm) state ppid ...; comm may contain spaces and parentheses.
    const auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(line.substr(close_paren + 1));
    char state = 0;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == pid) children.push_back(std::stoi(name));
  }
  return children;
}

// SIGKILL for the postmaster and its children, then reap the postmaster.
// PostgreSQL puts every child in its own session, so a process-group kill would
// miss them; orphans would notice the postmaster's death, but only eventually.
void kill_server_and_reap(pid_t pid) {
  const std::vector<pid_t> children = children_of(pid);
  ::kill(pid, SIGKILL);
  for (const pid_t child : children) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

bool log_says_port_taken(const std::string& log) {
  return log.find("Address already in use") != std::string::npos;
}

}  // namespace

pg_instance::owned_dir::~owned_dir() {
  if (path.empty()) return;
  std::error_code ec;
  fs::remove_all(path, ec);
}

pg_instance::pg_instance(pg_instance_options options) : options_(std::move(options)) {
  bin_dir_ = find_bin_dir(options_.bin_dir);
  if (::geteuid() == 0) {
    // initdb and postgres refuse to run as root.
    const passwd* pw = ::getpwnam(options_.root_run_as_user.c_str());
    if (pw == nullptr) {
      throw std::runtime_error("pg_instance: running as root but there is no system user '" +
                               options_.root_run_as_user + "' to run PostgreSQL as");
    }
    drop_privileges_ = true;
    run_uid_ = pw->pw_uid;
    run_gid_ = pw->pw_gid;
    run_groups_.resize(groups_max);
    int count = static_cast<int>(groups_max);
    if (::getgrouplist(pw->pw_name, pw->pw_gid, run_groups_.data(), &count) < 0) count = 0;
    run_groups_.resize(static_cast<std::size_t>(count));
    if (run_groups_.empty()) run_groups_.push_back(run_gid_);
  }
  init_directory();
  run_initdb();
  write_config();
  for (int attempt = 0; attempt < options_.port_attempts_max; ++attempt) {
    port_ = pick_free_port();
    if (try_start()) return;
  }
  fail("pg_instance: every port tried was taken (" + std::to_string(options_.port_attempts_max) +
       " attempts)");
}

pg_instance::~pg_instance() {
  try {
    stop();
  } catch (...) {
    // A destructor must not throw; stop() already escalated to SIGKILL.
  }
}

void pg_instance::init_directory() {
  const fs::path base = choose_base_dir(drop_privileges_, run_uid_, run_groups_);
  std::string pattern = (base / (std::string(dir_prefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("pg_instance: mkdtemp(" + pattern + "): " + errno_text(errno));
  }
  dir_.path = pattern;
  if (drop_privileges_ && ::chown(pattern.c_str(), run_uid_, run_gid_) != 0) {
    throw std::runtime_error("pg_instance: chown(" + pattern + "): " + errno_text(errno));
  }
}

void pg_instance::run_initdb() {
  const fs::path log = dir_.path / "initdb.log";
  spawn_spec spec;
  spec.argv = {(bin_dir_ / "initdb").string(),
               "--pgdata=" + data_directory().string(),
               "--username=postgres",
               "--auth=trust",
               "--encoding=UTF8",
               "--locale=C",
               // The cluster is thrown away after the test; syncing it costs seconds.
               "--no-sync",
               "--no-instructions"};
  spec.working_dir = dir_.path;
  spec.output_path = log;
  spec.drop_privileges = drop_privileges_;
  spec.uid = run_uid_;
  spec.gid = run_gid_;
  spec.groups = run_groups_;
  const pid_t pid = spawn(spec);
  const auto status = wait_for_exit(pid, options_.initdb_timeout_ms);
  if (!status) {
    kill_server_and_reap(pid);
    throw std::runtime_error("pg_instance: initdb did not finish within " +
                             std::to_string(options_.initdb_timeout_ms) + " ms\n" +
                             file_tail(log, 0, 4096));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    throw std::runtime_error("pg_instance: initdb " + describe_status(*status) + "\n" +
                             file_tail(log, 0, 4096));
  }
}

void pg_instance::write_config() {
  const fs::path conf = data_directory() / "postgresql.conf";
  std::ofstream out(conf, std::ios::app);
  out << "\n# Added by ledger::testing::pg_instance; later lines win.\n"
      << "listen_addresses = '127.0.0.1'\n"
      << "unix_socket_directories = " << conf_quote(dir_.path.string()) << "\n"
      << "max_connections = " << options_.max_connections << "\n"
      << "shared_buffers = " << conf_quote(options_.shared_buffers) << "\n"
      << "fsync = " << (options_.fsync ? "on" : "off") << "\n"
      << "synchronous_commit = " << (options_.synchronous_commit ? "on" : "off") << "\n"
      // Write-heavy benchmarks would otherwise checkpoint every few seconds.
      << "max_wal_size = '2GB'\n"
      << "effective_cache_size = '8GB'\n"
      // stderr is redirected to server.log by pg_instance itself.
      << "logging_collector = off\n"
      << "log_destination = 'stderr'\n"
      << "log_line_prefix = '%m [%p] '\n";
  for (const auto& line : options_.extra_conf_lines) out << line << "\n";
  out.close();
  if (!out) throw std::runtime_error("pg_instance: could not write " + conf.string());
}

bool pg_instance::try_start() {
  const off_t log_offset = size_or_zero(log_path());
  spawn_spec spec;
  spec.argv = {(bin_dir_ / "postgres").string(), "-D", data_directory().string(), "-p",
               std::to_string(port_)};
  spec.working_dir = dir_.path;
  spec.output_path = log_path();
  spec.drop_privileges = drop_privileges_;
  spec.uid = run_uid_;
  spec.gid = run_gid_;
  spec.groups = run_groups_;
  // Its own session, so a Ctrl-C meant for the test does not reach it; immediate
  // shutdown if the starting thread dies, so no server outlives a crashed test.
  spec.new_session = true;
  spec.parent_death_signal = SIGQUIT;
  pid_ = spawn(spec);
  try {
    wait_until_ready(log_offset);
    return true;
  } catch (const std::exception&) {
    kill_after_failed_start();
    if (log_says_port_taken(file_tail(log_path(), log_offset, 1 << 16))) return false;
    throw;
  }
}

void pg_instance::wait_until_ready(off_t log_offset) {
  // Probing over the private unix socket cannot reach some other server that
  // happens to hold our TCP port; postgres creates the unix socket only after
  // binding 127.0.0.1, so a successful probe means the TCP port is ours too.
  const std::string probe = "host=" + conninfo_quote(dir_.path.string()) +
                            " port=" + std::to_string(port_) +
                            " user=postgres dbname=postgres connect_timeout=" +
                            std::to_string(probe_connect_timeout_s);
  const auto deadline = clock_type::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  std::string last_error;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      fail("pg_instance: postgres " + describe_status(status) + " during start-up", log_offset);
    }
    try {
      pqxx::connection connection(probe);
      return;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (clock_type::now() >= deadline) {
      fail("pg_instance: postgres did not accept connections within " +
               std::to_string(options_.start_timeout_ms) + " ms (last error: " + last_error + ")",
           log_offset);
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

void pg_instance::kill_after_failed_start() {
  if (pid_ == 0) return;
  kill_server_and_reap(pid_);
  pid_ = 0;
}

void pg_instance::stop() {
  if (pid_ == 0) return;
  const pid_t pid = pid_;
  pid_ = 0;
  // SIGINT is PostgreSQL's fast shutdown: roll back sessions, checkpoint, exit.
  ::kill(pid, SIGINT);
  if (wait_for_exit(pid, options_.stop_timeout_ms)) return;
  // SIGQUIT is immediate shutdown: the postmaster tells every child to quit at
  // once; no checkpoint, so the next start runs crash recovery.
  ::kill(pid, SIGQUIT);
  if (wait_for_exit(pid, immediate_shutdown_timeout_ms)) return;
  kill_server_and_reap(pid);
}

void pg_instance::start() {
  if (running()) return;
  if (pid_ != 0) {
    // The server died on its own; reap it before starting a new one.
    kill_server_and_reap(pid_);
    pid_ = 0;
  }
  const off_t log_offset = size_or_zero(log_path());
  if (!try_start()) {
    fail("pg_instance: port " + std::to_string(port_) + " was taken while the server was stopped",
         log_offset);
  }
}

bool pg_instance::running() const {
  if (pid_ == 0) return false;
  // WNOWAIT leaves a dead child for start()/stop() to reap, keeping this const.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return false;
  }
  return info.si_pid == 0;
}

std::string pg_instance::connection_string(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=postgres dbname=" + conninfo_quote(dbname);
}

std::string pg_instance::create_database(const std::string& name) {
  try {
    pqxx::connection connection(connection_string());
    // CREATE DATABASE cannot run inside a transaction block.
    pqxx::nontransaction tx(connection);
    tx.exec0("CREATE DATABASE " + tx.quote_name(name));
  } catch (const pqxx::pqxx_exception& e) {
    throw std::runtime_error("pg_instance: CREATE DATABASE " + name + " failed: " +
                             e.base().what());
  }
  return connection_string(name);
}

std::string pg_instance::log_tail(std::size_t bytes_max) const {
  return file_tail(log_path(), 0, bytes_max);
}

void pg_instance::fail(const std::string& what, off_t log_offset) const {
  throw std::runtime_error(what + "\n--- " + log_path().string() + " (tail) ---\n" +
                           file_tail(log_path(), log_offset, 4096));
}

pg_instance_options disposable_pg_options() {
  pg_instance_options o;
  o.fsync = false;
  o.synchronous_commit = false;
  o.shared_buffers = "64MB";
  return o;
}

}  // namespace ledger::testing
