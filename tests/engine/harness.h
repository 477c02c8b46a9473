// Test harness around a real engine on a real RocksDB in a temporary
// directory, with a manual clock. run() submits one command and waits for
// its durable outcome.
#pragma once

#include <future>
#include <map>
#include <optional>

#include "engine/engine.h"
#include "tests/support/manual_clock.h"
#include "tests/support/temp_dir.h"

namespace ledger::testing {

class engine_harness {
 public:
  explicit engine_harness(std::size_t batch_max = 8190, std::size_t pipeline_min = 512, std::size_t events_max = 0)
      : batch_max_(batch_max), pipeline_min_(pipeline_min), events_max_(events_max) {
    reopen();
  }

  void reopen() {
    engine_.reset();
    engine_options o;
    o.store.path = (dir_.path() / "ledger").string();
    o.store.write_buffer_bytes = 8u << 20;
    o.store.block_cache_bytes = 8u << 20;
    o.store.file_system = file_system_;
    o.store.ledger_id = ledger_id_;
    o.store.sync = sync_;
    o.batch_commands_max = batch_max_;
    o.pipeline_commands_min = pipeline_min_;
    if (events_max_ > 0) o.batch_events_max = events_max_;
    o.clk = &clock_;
    auto s = engine::open(o, engine_);
    if (!s) throw std::runtime_error("engine open failed: " + s.to_string());
  }
  void close() { engine_.reset(); }
  // The ledger id the next reopen() asks for (empty: whatever the store has).
  void use_ledger_id(std::string id) { ledger_id_ = std::move(id); }
  // The file system and WAL sync setting of the next reopen() (fault tests).
  void use_file_system(std::shared_ptr<rocksdb::FileSystem> fs, bool sync = true) {
    file_system_ = std::move(fs);
    sync_ = sync;
  }

  // Submits a batch and waits for its outcomes.
  std::vector<outcome> run_all(std::vector<command> cmds) {
    std::promise<std::vector<outcome>> p;
    auto f = p.get_future();
    auto r = engine_->submit(std::move(cmds), [&p](std::vector<outcome>&& o) { p.set_value(std::move(o)); });
    if (r != append_result::ok) throw std::runtime_error("submit refused");
    return f.get();
  }
  outcome run(command c) { return run_all({std::move(c)}).at(0); }

  // Submits several groups back to back (all in flight at once, so the
  // engine may decide one batch while the previous commits), then waits
  // for all; outcomes in submission order.
  std::vector<outcome> run_groups(std::vector<std::vector<command>> groups) {
    std::vector<std::promise<std::vector<outcome>>> ps(groups.size());
    std::vector<std::future<std::vector<outcome>>> fs;
    for (auto& p : ps) fs.push_back(p.get_future());
    for (std::size_t i = 0; i < groups.size(); ++i) {
      auto* p = &ps[i];
      if (engine_->submit(std::move(groups[i]), [p](std::vector<outcome>&& o) { p->set_value(std::move(o)); }) !=
          append_result::ok)
        throw std::runtime_error("submit refused");
    }
    std::vector<outcome> all;
    for (auto& f : fs)
      for (auto& o : f.get()) all.push_back(std::move(o));
    return all;
  }

  template <typename Body>
  outcome run(Body body, std::string key = {}, std::string principal = "tester") {
    if (key.empty()) key = "k" + std::to_string(++key_counter_);
    return run(command{principal, key, "req-" + key, std::move(body)});
  }

  // Registers an asset and opens the usual system accounts.
  void setup_basics(const std::string& asset = "USD", std::uint8_t scale = 2) {
    must(run(register_asset_cmd{asset, scale, 1, amount_limit}));
    system_ids["clearing:stripe"] = must(run(open_account_cmd{account_kind::system, "clearing:stripe", {}})).account_id;
    system_ids["payouts"] = must(run(open_account_cmd{account_kind::system, "payouts", {}})).account_id;
    system_ids["fee_revenue"] = must(run(open_account_cmd{account_kind::system, "fee_revenue", {}})).account_id;
  }
  std::uint64_t open_wallet(const std::string& owner, std::vector<wallet_asset> assets = {{"USD", 0, 0}}) {
    return must(run(open_account_cmd{account_kind::user, owner, std::move(assets)})).account_id;
  }
  void fund(std::uint64_t wallet, amount_t amount, const std::string& asset = "USD") {
    // No reference: references are unique per owner, and tests fund often.
    must(run(deposit_cmd{wallet, asset, amount, "stripe", "", ""}));
  }

  static const outcome& must(const outcome& o) {
    if (!o.accepted())
      throw std::runtime_error("expected acceptance, got " + std::string(to_string(o.reason)) + " " + o.detail +
                               (o.error ? "" : " error " + o.error.to_string()));
    return o;
  }

  // Balance of (account, asset) as committed in the store.
  std::optional<balance_record> balance(std::uint64_t account, const std::string& asset) {
    std::string v;
    if (!engine_->storage().read_state(keys::account(account), v)) return std::nullopt;
    account_record r;
    if (!decode(v, r)) return std::nullopt;
    const auto* b = r.balance(asset);
    if (!b) return std::nullopt;
    return *b;
  }

  engine& eng() { return *engine_; }
  manual_clock& clock() { return clock_; }
  const temp_dir& dir() const { return dir_; }
  std::map<std::string, std::uint64_t> system_ids;

 private:
  std::size_t batch_max_;
  std::size_t pipeline_min_;
  std::size_t events_max_;
  temp_dir dir_;
  manual_clock clock_;
  std::unique_ptr<engine> engine_;
  std::string ledger_id_;
  std::shared_ptr<rocksdb::FileSystem> file_system_;
  bool sync_ = true;
  int key_counter_ = 0;
};

}  // namespace ledger::testing
