// api::audit_reads over ledger_audit, reading the store this process
// already has open:
// - /v1/audit/state rebuilds a past state exactly as `ledgerctl audit state`
//   does (run_state: from the newest retained snapshot at or before the
//   point), on one worker thread of its own;
// - /v1/audit/verify checks the chain and checkpoint digests from seq 1 as
//   `ledgerctl audit verify --data-dir` does (run_verify, bounded by a seq),
//   on a second thread, so a long verification never delays a state read.
//
// Limits: one rebuild at a time and at most queued_max waiting; beyond
// that state() refuses. One verification at a time and none waiting;
// verify() refuses while one runs. (The routes answer 503.)
#pragma once

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "api/audit_reads.h"
#include "api/backend.h"
#include "tools/audit/commands.h"

namespace ledger {

class audit_reads_adapter final : public api::audit_reads {
 public:
  audit_reads_adapter(api::backend& b, std::string snapshot_dir) : backend_(b), snapshot_dir_(std::move(snapshot_dir)) {
    worker_ = std::thread([this] { run(); });
    verifier_ = std::thread([this] { run_verifier(); });
  }
  ~audit_reads_adapter() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    verify_cv_.notify_all();
    worker_.join();
    verifier_.join();
  }

  bool state(api::audit_state_query q, api::audit_state_done done) override {
    std::lock_guard lock(mu_);
    if (stop_ || jobs_.size() >= queued_max) return false;
    jobs_.emplace_back(std::move(q), std::move(done));
    cv_.notify_one();
    return true;
  }

  bool verify(std::uint64_t seq_max, api::audit_verify_done done) override {
    std::lock_guard lock(mu_);
    if (stop_ || verify_busy_) return false;
    verify_busy_ = true;  // until the verification has answered
    verify_job_.emplace(seq_max, std::move(done));
    verify_cv_.notify_one();
    return true;
  }

  // A verification's status as the route reports it: a journal that does
  // not verify ("seq N: what") is a finding; anything else is an error.
  static status to_result(status s, const audit::verify_report& r, api::audit_verify_result& out) {
    out = api::audit_verify_result{};
    if (s) {
      out.verified = true;
      out.events = r.events;
      out.last_seq = r.head.seq;
      out.head_hash = to_hex(r.head.chain);
      out.checkpoints_checked = r.checkpoints_checked;
      return status::ok();
    }
    if (s.error_code() != status::code::corruption) return s;
    out.problem = s.message();
    const std::string& m = s.message();
    if (m.starts_with("seq ")) {
      auto colon = m.find(": ");
      if (auto n = std::strtoull(m.c_str() + 4, nullptr, 10); colon != std::string::npos && n > 0) {
        out.bad_seq = n;
        out.problem = m.substr(colon + 2);
      }
    }
    return status::ok();
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

  void run_verifier() {
    for (;;) {
      std::unique_lock lock(mu_);
      verify_cv_.wait(lock, [this] { return stop_ || verify_job_; });
      if (!verify_job_) return;  // stopping, nothing left
      auto [seq_max, done] = std::move(*verify_job_);
      verify_job_.reset();
      lock.unlock();
      audit::verify_options o;
      o.to_seq = seq_max;
      o.progress_bar = false;
      audit::verify_report report;
      auto src = audit::open_store(backend_.storage(), [this] { return backend_.head(); }, "");
      api::audit_verify_result result;
      status s = to_result(audit::run_verify(*src, o, report), report, result);
      {
        std::lock_guard done_lock(mu_);
        verify_busy_ = false;  // before answering: a client may ask again at once
      }
      done(s, std::move(result));
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
  std::condition_variable verify_cv_;
  std::deque<std::pair<api::audit_state_query, api::audit_state_done>> jobs_;              // protected by mu_
  std::optional<std::pair<std::uint64_t, api::audit_verify_done>> verify_job_;            // protected by mu_
  bool verify_busy_ = false;                                                               // protected by mu_
  bool stop_ = false;                                                                      // protected by mu_
  std::thread worker_;
  std::thread verifier_;
};

}  // namespace ledger
