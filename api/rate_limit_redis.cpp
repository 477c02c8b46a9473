// redis_limiter: a bounded queue served by a few threads, each holding one
// hiredis connection with a timeout on connect and on every call, so a slow
// or absent Redis costs an API request at most the timeout and never an I/O
// thread.
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "api/rate_limit.h"

namespace ledger::api {

namespace {

// The token bucket of rate_limit.h in Lua. KEYS: the buckets. ARGV: per key,
// quota then window in ms. Redis's own clock is the one clock every API
// instance shares. All or nothing: tokens are taken only when every bucket
// has one. Returns {taken, now_ms, level_1, ..., level_n}; a bucket expires
// once it would be full again (a missing bucket is a full one).
constexpr const char* token_bucket_lua = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local ok = 1
for i = 1, #KEYS do
  local quota = tonumber(ARGV[2 * i - 1])
  local wms = tonumber(ARGV[2 * i])
  local full = quota * wms
  local v = redis.call('HMGET', KEYS[i], 'l', 't')
  local level = full
  if v[1] and v[2] then
    local elapsed = now - tonumber(v[2])
    if elapsed < 0 then elapsed = 0 end
    if elapsed > wms then elapsed = wms end
    level = math.min(full, tonumber(v[1]) + elapsed * quota)
  end
  if level < wms then ok = 0 end
  levels[i] = level
end
local out = {ok, now}
for i = 1, #KEYS do
  local wms = tonumber(ARGV[2 * i])
  local level = levels[i]
  if ok == 1 then
    level = level - wms
    redis.call('HSET', KEYS[i], 'l', string.format('%d', level), 't', string.format('%d', now))
    redis.call('PEXPIRE', KEYS[i], wms)
  end
  out[#out + 1] = level
end
return out
)lua";

// Requests one thread sends to Redis in one pipeline.
constexpr std::size_t pipeline_max = 64;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

reply_ptr command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return reply_ptr(static_cast<redisReply*>(redisCommandArgv(c, int(argv.size()), argv.data(), lens.data())));
}

bool is_error(const reply_ptr& r) { return !r || r->type == REDIS_REPLY_ERROR; }

}  // namespace

struct redis_limiter::impl {
  struct job {
    limit_request r;
    callback done;
    std::int64_t enqueued_ms = 0;
  };
  // One thread's connection; used by that thread only.
  struct connection {
    context_ptr ctx;
    std::string sha;
  };

  redis_limiter& owner;
  const redis_settings s;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<job> queue;   // protected by mu, at most s.queue_max
  bool stopping = false;   // protected by mu
  std::vector<std::thread> threads;

  std::atomic<std::int64_t> retry_at_ms{0};  // after a failure: no attempt before this
  std::atomic<bool> up{true};                // for logging state changes only

  impl(redis_limiter& o, redis_settings settings) : owner(o), s(std::move(settings)) {}

  void finish(job& j, limit_decision&& d) {
    owner.counters().count(d);
    j.done(std::move(d));
  }

  void unavailable(job& j) {
    limit_decision d;
    d.cls = j.r.cls;
    d.v = limit_decision::verdict::unavailable;
    d.retry_after_s = std::max<std::int64_t>(1, (s.reconnect_backoff_ms + 999) / 1000);
    finish(j, std::move(d));
  }

  void set_up(bool now_up, const std::string& why) {
    if (up.exchange(now_up) != now_up && s.on_state_change)
      s.on_state_change(now_up ? "redis reachable again at " + s.host + ":" + std::to_string(s.port)
                               : "redis unreachable at " + s.host + ":" + std::to_string(s.port) + ": " + why);
  }

  bool connect(connection& c, std::string& why) {
    timeval tv{s.timeout_ms / 1000, (s.timeout_ms % 1000) * 1000};
    c.ctx.reset(redisConnectWithTimeout(s.host.c_str(), s.port, tv));
    if (!c.ctx || c.ctx->err) {
      why = c.ctx ? c.ctx->errstr : "out of memory";
      c.ctx.reset();
      return false;
    }
    redisSetTimeout(c.ctx.get(), tv);
    std::vector<std::vector<std::string>> setup;
    if (!s.password.empty())
      setup.push_back(s.user.empty() ? std::vector<std::string>{"AUTH", s.password}
                                     : std::vector<std::string>{"AUTH", s.user, s.password});
    if (s.db != 0) setup.push_back({"SELECT", std::to_string(s.db)});
    for (const auto& cmd : setup)
      if (auto r = command(c.ctx.get(), cmd); is_error(r)) {
        why = r ? std::string(r->str, r->len) : c.ctx->errstr;
        c.ctx.reset();
        return false;
      }
    return load_script(c, why);
  }

  bool load_script(connection& c, std::string& why) {
    auto r = command(c.ctx.get(), {"SCRIPT", "LOAD", token_bucket_lua});
    if (is_error(r) || r->type != REDIS_REPLY_STRING) {
      why = r ? "SCRIPT LOAD failed" : c.ctx->errstr;
      c.ctx.reset();
      return false;
    }
    c.sha.assign(r->str, r->len);
    return true;
  }

  // Decodes {taken, now_ms, level...}; nullopt for anything else.
  std::optional<limit_decision> decode(const limit_request& r, const reply_ptr& rep) {
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != r.keys.size() + 2) return std::nullopt;
    for (std::size_t i = 0; i < rep->elements; ++i)
      if (rep->element[i]->type != REDIS_REPLY_INTEGER) return std::nullopt;
    limit_decision d;
    d.cls = r.cls;
    bool taken = rep->element[0]->integer == 1;
    std::int64_t now_ms = rep->element[1]->integer;
    d.v = taken ? limit_decision::verdict::allowed : limit_decision::verdict::refused;
    for (std::size_t i = 0; i < r.keys.size(); ++i) {
      const auto& k = r.keys[i];
      auto v = bucket_peek(bucket_state{rep->element[i + 2]->integer, now_ms}, now_ms, k.quota, k.window_s);
      d.parts.push_back({k.policy, k.quota, k.window_s, v.remaining, (v.reset_ms + 999) / 1000});
      d.retry_after_s = std::max(d.retry_after_s, (v.retry_ms + 999) / 1000);
    }
    return d;
  }

  // Sends every job's EVALSHA at once (pipelined), then reads the replies
  // in order. Null where a job got no usable reply; after an I/O error or
  // timeout c.ctx is reset and `why` says what happened.
  std::vector<reply_ptr> pipeline(connection& c, const std::vector<job*>& jobs, std::string& why) {
    std::vector<reply_ptr> replies(jobs.size());
    for (const job* j : jobs) {
      auto args = evalsha_args(c, j->r);
      std::vector<const char*> argv;
      std::vector<std::size_t> lens;
      for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      redisAppendCommandArgv(c.ctx.get(), int(argv.size()), argv.data(), lens.data());
    }
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c.ctx.get(), &raw) != REDIS_OK) {
        why = c.ctx->errstr;
        c.ctx.reset();  // unusable after an I/O error or timeout
        break;
      }
      replies[i].reset(static_cast<redisReply*>(raw));
    }
    return replies;
  }

  std::vector<std::string> evalsha_args(const connection& c, const limit_request& r) const {
    std::vector<std::string> args{"EVALSHA", c.sha, std::to_string(r.keys.size())};
    for (const auto& k : r.keys) args.push_back(s.key_prefix + k.name);
    for (const auto& k : r.keys) {
      args.push_back(std::to_string(k.quota));
      args.push_back(std::to_string(std::int64_t(k.window_s) * 1000));
    }
    return args;
  }

  static bool noscript(const reply_ptr& r) {
    return r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).substr(0, 8) == "NOSCRIPT";
  }

  // Serves a batch of jobs on one connection: the ones that need no call at
  // once, the rest in one pipeline. A connection made before a Redis restart
  // fails once; only a fresh connection's failure means Redis is away.
  void serve(connection& c, std::vector<job>& batch) {
    std::vector<job*> calls;
    for (auto& j : batch) {
      if (j.r.keys.empty()) {
        limit_decision d;
        d.cls = j.r.cls;
        finish(j, std::move(d));
      } else if (steady_ms() - j.enqueued_ms > s.timeout_ms) {
        unavailable(j);  // waited too long already
      } else {
        calls.push_back(&j);
      }
    }
    if (calls.empty()) return;
    std::string why;
    std::vector<reply_ptr> replies;
    for (bool fresh = false; !fresh;) {
      if (!c.ctx) {
        if (steady_ms() < retry_at_ms.load()) return fail_all(calls, {}, false);
        if (!connect(c, why)) return fail_all(calls, why, true);
        fresh = true;
      }
      replies = pipeline(c, calls, why);
      if (c.ctx) break;
    }
    if (!c.ctx) return fail_all(calls, why, true);
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (noscript(replies[i])) {  // Redis lost its scripts (SCRIPT FLUSH): load it again, once
        if (!load_script(c, why)) return fail_all({calls.begin() + long(i), calls.end()}, why, true);
        replies[i] = command(c.ctx.get(), evalsha_args(c, calls[i]->r));
      }
      auto d = decode(calls[i]->r, replies[i]);
      if (!d) {
        why = !replies[i] ? "no reply"
              : replies[i]->type == REDIS_REPLY_ERROR ? std::string(replies[i]->str, replies[i]->len)
                                                       : "unexpected reply";
        fail(*calls[i], why);
        continue;
      }
      set_up(true, {});
      finish(*calls[i], std::move(*d));
    }
  }

  void fail_all(const std::vector<job*>& jobs, const std::string& why, bool tried) {
    if (tried) {
      retry_at_ms = steady_ms() + s.reconnect_backoff_ms;
      set_up(false, why);
    }
    for (job* j : jobs) unavailable(*j);
  }

  void fail(job& j, const std::string& why) {
    retry_at_ms = steady_ms() + s.reconnect_backoff_ms;
    set_up(false, why);
    unavailable(j);
  }

  void run() {
    connection c;
    std::vector<job> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping, and nothing left
        while (!queue.empty() && batch.size() < pipeline_max) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
        if (stopping) {
          lock.unlock();
          for (auto& j : batch) unavailable(j);
          continue;
        }
      }
      serve(c, batch);
    }
  }
};

redis_limiter::redis_limiter(redis_settings s) : impl_(std::make_unique<impl>(*this, std::move(s))) {
  int n = std::clamp(impl_->s.connections, 1, 64);
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->run(); });
}

redis_limiter::~redis_limiter() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->threads) t.join();
}

void redis_limiter::take(limit_request r, callback done) {
  impl::job j{std::move(r), std::move(done), steady_ms()};
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stopping && impl_->queue.size() < impl_->s.queue_max) {
      impl_->queue.push_back(std::move(j));
      impl_->cv.notify_one();
      return;
    }
  }
  impl_->unavailable(j);  // full queue (or shutting down): fail closed at once
}

}  // namespace ledger::api
