#include "tests/api/ledgerd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "api/jwt.h"

#ifndef LEDGERD_PATH
#error "LEDGERD_PATH must name the ledgerd binary (set by tests/api/CMakeLists.txt)"
#endif

extern char** environ;

namespace ledger::e2e {

namespace {

using clock_type = std::chrono::steady_clock;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string b64url(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    unsigned v = at(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    unsigned v = (at(i) << 16) | (at(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

std::string claims_json(std::string_view subject, std::string_view role, std::int64_t exp_in_s,
                        std::string_view issuer, std::string_view audience) {
  auto now = unix_now();
  return "{\"sub\":\"" + json_escape(subject) + "\",\"role\":\"" + json_escape(role) + "\",\"iss\":\"" +
         json_escape(issuer) + "\",\"aud\":\"" + json_escape(audience) + "\",\"iat\":" + std::to_string(now) +
         ",\"exp\":" + std::to_string(now + exp_in_s) + "}";
}

std::string mint_token(std::string_view subject, std::string_view role, std::int64_t exp_in_s, std::string_view secret) {
  auto t = api::sign_hs256(secret, claims_json(subject, role, exp_in_s));
  if (t.empty()) throw std::runtime_error("sign_hs256 failed");
  return t;
}

ledgerd_process::ledgerd_process(ledgerd_options options) : options_(std::move(options)) {
  data_dir_ = tmp_.path() / "data";
  if (options_.es256) {
    auto [priv, pub] = api::generate_es256_keypair();
    if (priv.empty() || pub.empty()) throw std::runtime_error("generate_es256_keypair failed");
    es256_private_pem_ = priv;
    std::ofstream(tmp_.path() / "es256-public.pem") << pub;
  }
}

ledgerd_process::~ledgerd_process() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

std::filesystem::path ledgerd_process::stdout_path() const {
  return tmp_.path() / ("stdout-" + std::to_string(starts_) + ".log");
}
std::filesystem::path ledgerd_process::stderr_path() const {
  return tmp_.path() / ("stderr-" + std::to_string(starts_) + ".log");
}
std::string ledgerd_process::stdout_text() const { return slurp(stdout_path()); }
std::string ledgerd_process::stderr_text() const { return slurp(stderr_path()); }

void ledgerd_process::start() {
  if (pid_ > 0 && !exit_code_) throw std::runtime_error("ledgerd is already running");
  ++starts_;
  exit_code_.reset();
  port_ = 0;
  auto port_file = tmp_.path() / ("port-" + std::to_string(starts_));
  std::filesystem::remove(port_file);

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  auto ops_port_file = tmp_.path() / ("ops-port-" + std::to_string(starts_));
  std::filesystem::remove(ops_port_file);
  // Operations on a free port too: tests run many ledgerd at once.
  std::vector<std::string> args = {LEDGERD_PATH, "--data-dir", data_dir_.string(), "--listen", "127.0.0.1:0",
                                    "--port-file", port_file.string(), "--ops-listen", "127.0.0.1:0",
                                    "--ops-port-file", ops_port_file.string()};
  if (!options_.command.empty()) args.insert(args.begin() + 1, options_.command);
  if (options_.quiet) args.push_back("--quiet");
  for (const auto& a : options_.args) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "LEDGER_", 7) != 0) env.emplace_back(*e);  // nothing of the caller's ledger settings
  if (options_.hs256) env.push_back("LEDGER_JWT_HS256_SECRET=" + std::string(test_hs256_secret));
  if (options_.es256) env.push_back("LEDGER_JWT_ES256_PUBLIC_KEY_FILE=" + (tmp_.path() / "es256-public.pem").string());
  for (const auto& [k, v] : options_.env) env.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_fd = ::open(stdout_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(stderr_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open the log files");
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  ::close(null_fd);
  pid_ = pid;

  auto deadline = clock_type::now() + options_.start_timeout;
  while (clock_type::now() < deadline) {
    if (!running())
      throw std::runtime_error("ledgerd exited during start-up with status " + std::to_string(exit_code_.value_or(-1)) +
                               "; stderr:\n" + stderr_text());
    std::ifstream f(port_file);
    unsigned p = 0;
    if (f >> p && p > 0 && p < 65536) {
      port_ = static_cast<unsigned short>(p);
      return;
    }
    std::this_thread::sleep_for(ms(5));
  }
  kill_now();
  throw std::runtime_error("ledgerd did not write its port file in time; stderr:\n" + stderr_text());
}

unsigned short ledgerd_process::ops_port() const {
  std::ifstream f(tmp_.path() / ("ops-port-" + std::to_string(starts_)));
  unsigned p = 0;
  if (f >> p && p > 0 && p < 65536) return static_cast<unsigned short>(p);
  return 0;
}

bool ledgerd_process::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    return false;
  }
  return errno == EINTR;
}

void ledgerd_process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> ledgerd_process::wait_exit(ms timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (!running()) return exit_code_;
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(ms(2));
  }
}

int ledgerd_process::stop(ms timeout) {
  signal(SIGTERM);
  if (auto code = wait_exit(timeout)) return *code;
  kill_now();
  return exit_code_.value_or(-1);
}

void ledgerd_process::kill_now() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

std::string ledgerd_process::token(std::string_view subject, std::string_view role, std::int64_t exp_in_s) const {
  return mint_token(subject, role, exp_in_s);
}

std::string ledgerd_process::es256_token(std::string_view subject, std::string_view role, std::int64_t exp_in_s) const {
  if (es256_private_pem_.empty()) throw std::runtime_error("this ledgerd has no ES256 key");
  auto t = api::sign_es256(es256_private_pem_, claims_json(subject, role, exp_in_s));
  if (!t) throw std::runtime_error("sign_es256 failed");
  return *t;
}

}  // namespace ledger::e2e
