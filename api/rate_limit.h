// Rate limiting for the HTTP API: token buckets per principal and per client
// address, per route class, in this process or shared through Redis.
//
// Operation: the service asks a limiter to take one token for a request from
// every bucket the request falls into (its principal's, when known, and its
// client address's) in the route's class. The take is all-or-nothing: either
// every bucket has a token and each loses one, or none changes. The decision
// comes back through a callback with what the RateLimit-Policy / RateLimit
// headers of the IETF httpapi ratelimit-headers draft (-10) need.
//
// A bucket of quota q and window w holds at most q tokens and gains q tokens
// per w seconds, continuously. To keep the arithmetic exact and identical in
// C++ and in the Redis script, a bucket's level is an integer in units of
// 1/w_ms of a token: full is q * w_ms, one request costs w_ms, and each
// millisecond adds q.
//
// Concurrency: every limiter is thread-safe. take() never blocks on the
// network: local_limiter decides inline; redis_limiter queues the request
// (bounded) for a small pool of threads, each with its own connection and a
// timeout on every call, and calls back from one of them.
//
// Limits: quotas and windows are bounded (see rate_limit_settings::validate),
// local_limiter keeps at most buckets_max buckets, redis_limiter at most
// queue_max waiting requests; a request that waited longer than the timeout
// is answered "unavailable" without being sent.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/clock.h"

namespace ledger::api {

// Which limits a route falls under. auth: routes that check credentials (and
// requests whose token fails verification); commands: money movements and
// other writes; reads: balances, history, lists; other: everything else that
// is limited (unknown paths, preflight). Probes (/healthz, /readyz,
// /metrics) are never limited.
enum class route_class : std::uint8_t { auth, commands, reads, other };
constexpr std::size_t route_class_count = 4;
std::string_view to_string(route_class c);
std::optional<route_class> route_class_from(std::string_view name);

// One class's quotas. A quota of 0 turns that partition off (unlimited).
struct class_limits {
  std::uint32_t principal_quota = 0;  // tokens per window for one principal
  std::uint32_t address_quota = 0;    // tokens per window for one client address
  std::uint32_t window_s = 60;
};

struct rate_limit_settings {
  // Documented defaults (docs/operations.md): auth 20/min as the wallet
  // sign-in guide asks; generous for commands and reads so that only abuse
  // meets them.
  std::array<class_limits, route_class_count> classes{{
      {20, 20, 60},        // auth
      {3000, 6000, 60},    // commands
      {6000, 12000, 60},   // reads
      {600, 1200, 60},     // other
  }};
  // Peers whose X-Forwarded-For is believed: exact addresses or CIDR blocks
  // ("10.0.0.0/8", "::1/128"). Empty: X-Forwarded-For is ignored.
  std::vector<std::string> trusted_proxies;

  // Checks bounds: quotas at most 1,000,000, windows 1..86,400 s, proxies
  // parseable. Returns a message naming the bad setting.
  std::optional<std::string> validate() const;
  // Parses "CLASS:PRINCIPAL_QUOTA:ADDRESS_QUOTA:WINDOW_S" into this object
  // (for --rate-limit and LEDGER_RATE_LIMITS). Returns an error message.
  std::optional<std::string> set(std::string_view spec);
};

// The pure bucket arithmetic, shared by local_limiter and (the same formula
// in Lua) redis_limiter. A missing bucket is a full one.
struct bucket_state {
  std::int64_t level = 0;       // in 1/window_ms tokens
  std::int64_t updated_ms = 0;  // when level was computed
};
struct bucket_view {
  std::int64_t level = 0;  // after refill to now (and after the take, if taken)
  std::uint32_t remaining = 0;  // whole tokens left
  std::int64_t reset_ms = 0;    // until one more token (0 when full)
  std::int64_t retry_ms = 0;    // until one token is there (0 when there is)
};
// Refills `s` to now_ms (a clock that does not go back) and reports it.
bucket_view bucket_peek(const std::optional<bucket_state>& s, std::int64_t now_ms, std::uint32_t quota,
                        std::uint32_t window_s);

// One bucket a request draws from.
struct limit_key {
  std::string name;    // storage key, e.g. "commands:p:alice"
  std::string policy;  // header policy name, e.g. "commands-principal"
  std::uint32_t quota = 0;
  std::uint32_t window_s = 60;
};

struct limit_request {
  route_class cls = route_class::other;
  std::vector<limit_key> keys;  // at most 2; empty: nothing to take
};

struct limit_decision {
  enum class verdict { allowed, refused, unavailable };
  verdict v = verdict::allowed;
  route_class cls = route_class::other;
  struct part {
    std::string policy;
    std::uint32_t quota = 0;
    std::uint32_t window_s = 0;
    std::uint32_t remaining = 0;
    std::int64_t reset_s = 0;
  };
  std::vector<part> parts;
  std::int64_t retry_after_s = 0;  // refused or unavailable: when to try again (>= 1)
};

// Builds the request for a class: a principal bucket when `principal` is not
// empty and its quota is on, an address bucket when its quota is on.
limit_request make_limit_request(const rate_limit_settings& s, route_class c, std::string_view principal,
                                 std::string_view address);

// The client's address: the peer itself, or, when the peer is a trusted
// proxy, the right-most X-Forwarded-For entry that is not a trusted proxy.
// `remote` is "ADDRESS:PORT" ("[::1]:PORT" or "::1:PORT" for IPv6).
std::string client_address(std::string_view remote, std::string_view x_forwarded_for,
                           const std::vector<std::string>& trusted_proxies);

// Header lines for a decision: RateLimit-Policy and RateLimit (and
// Retry-After when refused or unavailable).
std::vector<std::pair<std::string, std::string>> rate_limit_headers(const limit_decision& d);

// Counters per class, rendered for /metrics.
class rate_limit_counters {
 public:
  void count(const limit_decision& d);
  std::string render(std::string_view backend) const;

 private:
  std::array<std::array<std::atomic<std::uint64_t>, 3>, route_class_count> counts_{};
};

class limiter {
 public:
  using callback = std::function<void(limit_decision&&)>;
  virtual ~limiter() = default;
  // Takes a token from every key of `r`, or from none; calls `done` exactly
  // once (inline, or from a limiter thread). Never blocks on I/O.
  virtual void take(limit_request r, callback done) = 0;
  // Prometheus lines for the counters.
  std::string render_metrics() const { return counters_.render(backend_name()); }
  rate_limit_counters& counters() { return counters_; }

 protected:
  virtual std::string_view backend_name() const = 0;

 private:
  rate_limit_counters counters_;
};

// In-process buckets, for embedded mode and one API instance.
class local_limiter final : public limiter {
 public:
  explicit local_limiter(clock& clk, std::size_t buckets_max = 100'000) : clock_(clk), buckets_max_(buckets_max) {}
  void take(limit_request r, callback done) override;
  std::size_t buckets() const;

 private:
  std::string_view backend_name() const override { return "local"; }
  void sweep_full(std::int64_t now_ms);  // requires mu_

  clock& clock_;
  const std::size_t buckets_max_;
  mutable std::mutex mu_;
  struct entry {
    bucket_state s;
    std::uint32_t quota;
    std::uint32_t window_s;
  };
  std::unordered_map<std::string, entry> buckets_;  // protected by mu_
};

struct redis_settings {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // empty: AUTH with the password alone (or no AUTH)
  std::string password;  // from LEDGER_REDIS_PASSWORD(_FILE); never a flag
  int db = 0;
  int timeout_ms = 250;          // connect and each call
  int reconnect_backoff_ms = 500;  // after a failure, answer "unavailable" without trying for this long
  int connections = 2;           // threads, one connection each
  std::size_t queue_max = 4096;
  std::string key_prefix = "ledger:rl:";
  // Told when Redis goes away and when it comes back (not on every
  // failure, so an outage cannot flood the log). May be empty.
  std::function<void(const std::string&)> on_state_change;
};

// Parses "redis://[USER@]HOST[:PORT][/DB]" into `out` (a password in the URL
// is refused: it would be a secret on the command line).
std::optional<std::string> parse_redis_url(std::string_view url, redis_settings& out);

// Buckets in Redis, shared by every API instance that points at it. Each
// take is one EVALSHA of a Lua token bucket (keys expire once full again).
// When Redis cannot be reached the decision is "unavailable" (fail closed);
// the next request after the backoff tries to connect again.
class redis_limiter final : public limiter {
 public:
  explicit redis_limiter(redis_settings s);
  ~redis_limiter() override;  // stops the threads; queued requests get "unavailable"
  void take(limit_request r, callback done) override;
  struct impl;

 private:
  std::string_view backend_name() const override { return "redis"; }
  std::unique_ptr<impl> impl_;
};

}  // namespace ledger::api
