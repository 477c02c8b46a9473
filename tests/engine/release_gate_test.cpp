// The engine's release gate (command_log::before_release): a log that
// refuses a durable batch gets no completion for it, and the engine stops.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>

#include "engine/engine.h"
#include "engine/journal_source.h"
#include "tests/support/manual_clock.h"
#include "tests/support/temp_dir.h"

using namespace ledger;

namespace {

// The embedded log, refusing every release after the first `allowed`.
class refusing_log final : public command_log {
 public:
  refusing_log(ledger::clock& clk, int allowed) : inner_(clk, 1024), allowed_(allowed) {}
  append_result append(std::vector<command>&& c, completion d) override { return inner_.append(std::move(c), std::move(d)); }
  void take(std::vector<log_entry>& out, std::size_t max, int wait_ms) override { inner_.take(out, max, wait_ms); }
  void close() override { inner_.close(); }
  void resume_after(std::uint64_t p) override { inner_.resume_after(p); }
  status before_release(const ledger_head& head) override {
    asked.push_back(head.seq);
    if (allowed_-- > 0) return status::ok();
    return status::unavailable("fenced: test");
  }
  std::vector<std::uint64_t> asked;

 private:
  embedded_log inner_;
  std::atomic<int> allowed_;
};

}  // namespace

TEST_CASE("release gate: a refused batch is durable but never answered; the engine stops and says why") {
  testing::temp_dir dir;
  testing::manual_clock clk;
  refusing_log log(clk, 1);
  engine_options o;
  o.store.path = (dir.path() / "ledger").string();
  o.clk = &clk;
  o.log = &log;
  std::unique_ptr<engine> e;
  REQUIRE(engine::open(o, e));

  std::promise<std::vector<outcome>> first;
  REQUIRE(e->submit({{"t", "usd", "", register_asset_cmd{"USD", 2, 1, amount_limit}}},
                    [&](std::vector<outcome>&& outs) { first.set_value(std::move(outs)); }) == append_result::ok);
  auto outs = first.get_future().get();
  CHECK(outs.at(0).accepted());
  CHECK(e->head().seq == 1);

  std::atomic<bool> answered{false};
  REQUIRE(e->submit({{"t", "payouts", "", open_account_cmd{account_kind::system, "payouts", {}}}},
                    [&](std::vector<outcome>&&) { answered = true; }) == append_result::ok);
  REQUIRE(e->wait_for_seq(2, 200) == false);  // never released...
  for (int i = 0; i < 500 && !e->failed(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(e->failed());
  CHECK(e->failure().message() == "fenced: test");
  CHECK_FALSE(answered.load());
  CHECK(e->head().seq == 1);
  CHECK(e->storage().head().seq == 2);  // ...but durable in the store
  CHECK(log.asked == std::vector<std::uint64_t>{1, 2});
  CHECK(e->submit({{"t", "x", "", open_account_cmd{account_kind::system, "x", {}}}}, [](std::vector<outcome>&&) {}) ==
        append_result::closed);
  // engine_journal serves only what was released.
  std::vector<journal_entry> j;
  REQUIRE(engine_journal(*e).read(1, 10, j));
  CHECK(j.size() == 1);
  e->stop();
  CHECK_FALSE(answered.load());
}

TEST_CASE("regression: a committed batch refused at the release gate is invisible to store reads and checkpoints") {
  testing::temp_dir dir;
  testing::manual_clock clk;
  refusing_log log(clk, 1);
  engine_options o;
  o.store.path = (dir.path() / "ledger").string();
  o.clk = &clk;
  o.log = &log;
  std::unique_ptr<engine> e;
  REQUIRE(engine::open(o, e));
  std::promise<void> first;
  REQUIRE(e->submit({{"t", "sys", "", open_account_cmd{account_kind::system, "payouts", {}}}},
                    [&](std::vector<outcome>&&) { first.set_value(); }) == append_result::ok);
  first.get_future().get();
  REQUIRE(e->submit({{"t", "sys2", "", open_account_cmd{account_kind::system, "fee_revenue", {}}}},
                    [](std::vector<outcome>&&) {}) == append_result::ok);
  for (int i = 0; i < 500 && !e->failed(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(e->failed());
  REQUIRE(e->storage().head().seq == 2);  // committed...
  std::string v;
  CHECK(e->storage().read_state(keys::account(1), v).is_ok());
  CHECK(e->storage().read_state(keys::account(2), v).error_code() == status::code::not_found);  // ...not visible
  std::vector<std::pair<std::string, std::string>> rows;
  REQUIRE(e->storage().scan_state("w", "", 10, rows).is_ok());
  CHECK(rows.size() == 1);
  std::vector<journal_entry> j;
  REQUIRE(e->storage().read_journal(1, 10, j).is_ok());
  CHECK(j.size() == 1);
  journal_entry one;
  CHECK(e->storage().read_event(2, one).error_code() == status::code::not_found);
  ledger::checkpoint c;
  REQUIRE(e->checkpoint(c).is_ok());
  CHECK(c.seq == 1);
  e->stop();
}

namespace {
// Reproduces the stop() race: the writer's take() comes back empty, and
// before the writer looks at the stop flag a submission lands in the log
// just ahead of its close.
class racing_log final : public command_log {
 public:
  explicit racing_log(ledger::clock& clk) : inner_(clk, 1024) {}
  append_result append(std::vector<command>&& c, completion d) override { return inner_.append(std::move(c), std::move(d)); }
  void take(std::vector<log_entry>& out, std::size_t max, int wait_ms) override {
    inner_.take(out, max, wait_ms);
    std::unique_lock lock(mu_);
    if (!out.empty() || !armed_) return;
    armed_ = false;
    cv_.wait(lock, [&] { return closed_; });  // return empty only once stop() has closed the log
  }
  void close() override {
    // The late submission, accepted just before the close.
    appended = inner_.append({{"t", "late", "", register_asset_cmd{"LATE", 0, 1, 10}}},
                             [this](std::vector<outcome>&& outs) { late_outcomes = std::move(outs); });
    inner_.close();
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  void resume_after(std::uint64_t p) override { inner_.resume_after(p); }
  void arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  append_result appended = append_result::closed;
  std::vector<outcome> late_outcomes;

 private:
  embedded_log inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool closed_ = false;
};
}  // namespace

TEST_CASE("regression: stop() no longer loses the completion of a submission accepted just before the log closed") {
  testing::temp_dir dir;
  testing::manual_clock clk;
  racing_log log(clk);
  engine_options o;
  o.store.path = (dir.path() / "ledger").string();
  o.clk = &clk;
  o.log = &log;
  std::unique_ptr<engine> e;
  REQUIRE(engine::open(o, e));
  log.arm();
  e->stop();
  REQUIRE(log.appended == append_result::ok);
  REQUIRE(log.late_outcomes.size() == 1);
  CHECK(log.late_outcomes[0].accepted());
  CHECK(e->head().seq == 1);
}
