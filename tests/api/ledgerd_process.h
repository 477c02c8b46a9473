// The real ledgerd binary as a child process of a test: a fresh data
// directory under a temp_dir, "--listen 127.0.0.1:0 --port-file FILE" and
// extra flags, the JWT key in the environment, stdout (JSON request logs) and
// stderr captured to files. Start waits for the port file by polling, with a
// deadline, and fails early (with stderr) if the child dies. It can send
// signals, wait for the exit with a timeout, and start again on the same data
// directory.
//
// Also mints tokens for the test secret with api::sign_hs256 / sign_es256.
//
// Concurrency: one thread drives a ledgerd_process. Start it from the main
// thread: the child asks to be killed when the thread that forked it exits
// (PR_SET_PDEATHSIG), so a crashed test run leaves no ledgerd behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/api/http_client.h"
#include "tests/support/temp_dir.h"

namespace ledger::e2e {

// The HS256 secret every test ledgerd gets (40 bytes).
inline constexpr std::string_view test_hs256_secret = "e2e-hs256-secret-0123456789-abcdefghijkl";
static_assert(test_hs256_secret.size() == 40);

struct ledgerd_options {
  std::string command;            // ledgerd's command (serve when empty)
  std::vector<std::string> args;  // extra command-line flags
  bool hs256 = true;              // set LEDGER_JWT_HS256_SECRET
  bool es256 = false;             // also make a P-256 key pair and set LEDGER_JWT_ES256_PUBLIC_KEY_FILE
  bool quiet = false;             // --quiet (no request logs)
  header_list env;                // extra environment variables
  ms start_timeout = ms(20'000);  // for the port file to appear
};

// "iat" is now, "exp" now + exp_in_s; iss "ledger", aud "ledger-api" unless given.
std::string claims_json(std::string_view subject, std::string_view role, std::int64_t exp_in_s = 3600,
                        std::string_view issuer = "ledger", std::string_view audience = "ledger-api");
// An HS256 token with the test secret (or another).
std::string mint_token(std::string_view subject, std::string_view role, std::int64_t exp_in_s = 3600,
                       std::string_view secret = test_hs256_secret);
std::string b64url(std::string_view bytes);

class ledgerd_process {
 public:
  explicit ledgerd_process(ledgerd_options options = {});
  ~ledgerd_process();  // SIGKILLs a child still running
  ledgerd_process(const ledgerd_process&) = delete;
  ledgerd_process& operator=(const ledgerd_process&) = delete;

  // Starts ledgerd (again, on the same data directory, after an exit).
  // Throws std::runtime_error, with the child's stderr, if it does not come up.
  void start();
  bool running();
  unsigned short port() const { return port_; }
  // The operations listener's port (serve: metrics, detailed readiness); 0 if none.
  unsigned short ops_port() const;
  pid_t pid() const { return pid_; }
  int starts() const { return starts_; }

  void signal(int sig);
  // Waits for the child to exit: its exit code, or 128 + signal number if a
  // signal killed it; nullopt after `timeout`.
  std::optional<int> wait_exit(ms timeout);
  // SIGTERM, then wait; SIGKILL if it is still running after `timeout`.
  int stop(ms timeout = ms(20'000));
  void kill_now();

  // Captured output of the current (or last) run, and its file.
  std::string stdout_text() const;
  std::string stderr_text() const;
  std::filesystem::path stdout_path() const;
  std::filesystem::path stderr_path() const;
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path dir() const { return tmp_.path(); }
  // The options the next start() uses (tests change flags between restarts).
  ledgerd_options& options() { return options_; }

  // Tokens for this ledgerd's keys.
  std::string token(std::string_view subject, std::string_view role, std::int64_t exp_in_s = 3600) const;
  std::string es256_token(std::string_view subject, std::string_view role, std::int64_t exp_in_s = 3600) const;

  http_client client(ms timeout = ms(10'000)) const { return http_client(port_, timeout); }

 private:
  ledgerd_options options_;
  testing::temp_dir tmp_{"ledger-e2e"};
  std::filesystem::path data_dir_;
  std::string es256_private_pem_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  int starts_ = 0;
  std::optional<int> exit_code_;
};

}  // namespace ledger::e2e
