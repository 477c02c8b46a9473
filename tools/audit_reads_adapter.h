// api::audit_reads over ledger_audit: /v1/audit/state rebuilds a past state
// exactly as `ledgerctl audit state` does (run_state: from the newest
// retained snapshot at or before the point), reading the store this process
// already has open, on one worker thread of its own.
//
// Limits: one rebuild at a time and at most queued_max waiting; beyond
// that state() refuses (the route answers 503).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "api/audit_reads.h"
#include "api/backend.h"
#include "tools/audit/commands.h"

namespace ledger {

class audit_reads_adapter final : public api::audit_reads {
 public:
  audit_reads_adapter(api::backend& b, std::string snapshot_dir) : backend_(b), snapshot_dir_(std::move(snapshot_dir)) {
    worker_ = std::thread([this] { run(); });
  }
  ~audit_reads_adapter() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  bool state(api::audit_state_query q, api::audit_state_done done) override {
    std::lock_guard lock(mu_);
    if (stop_ || jobs_.size() >= queued_max) return false;
    jobs_.emplace_back(std::move(q), std::move(done));
    cv_.notify_one();
    return true;
  }

 private:
  static constexpr std::size_t queued_max = 4;

  void run() {
    for (;;) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      auto [q, done] = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      std::string text;
      status s = rebuild(q, text);
      done(s, std::move(text));
    }
  }

  status rebuild(const api::audit_state_query& q, std::string& out) {
    auto src = audit::open_store(backend_.storage(), [this] { return backend_.head(); }, snapshot_dir_);
    audit::state_options o;
    if (q.seq) o.bound.seq_max = *q.seq;
    if (q.at_us) o.bound.log_ts_max_us = *q.at_us;
    o.wallet = q.wallet;
    o.progress_bar = false;
    audit::state_report r;
    if (auto s = audit::run_state(*src, o, r); !s) return s;
    out = audit::render_state(r, q.wallet, false);
    return status::ok();
  }

  api::backend& backend_;
  const std::string snapshot_dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<api::audit_state_query, api::audit_state_done>> jobs_;  // protected by mu_
  bool stop_ = false;                                                           // protected by mu_
  std::thread worker_;
};

}  // namespace ledger
