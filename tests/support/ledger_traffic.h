// A reproducible mix of ledger traffic for tests and benchmarks: wallets,
// deposits, transfers, holds that are captured, voided or left to expire,
// with log time moved by a manual clock. Seeded: the same seed gives the
// same journal.
#pragma once

#include <future>
#include <random>
#include <stdexcept>
#include <vector>

#include "engine/engine.h"
#include "tests/support/manual_clock.h"

namespace ledger::testing {

class ledger_traffic {
 public:
  ledger_traffic(engine& e, manual_clock& clk, std::uint64_t seed, std::string principal = "traffic")
      : e_(e), clk_(clk), rng_(seed), principal_(std::move(principal)) {}

  // Submits one group and waits for its durable outcomes.
  std::vector<outcome> run(std::vector<command> cmds) {
    std::promise<std::vector<outcome>> p;
    auto f = p.get_future();
    if (e_.submit(std::move(cmds), [&p](std::vector<outcome>&& o) { p.set_value(std::move(o)); }) != append_result::ok)
      throw std::runtime_error("submit refused");
    return f.get();
  }

  command make(command_body body) { return command{principal_, "k" + std::to_string(key_++), "", std::move(body)}; }

  // USD (scale 2), a clearing account, `wallets` funded wallets.
  void setup(std::size_t wallets, amount_t deposit_minor) {
    run({make(register_asset_cmd{"USD", 2, 1, amount_limit}),
         make(open_account_cmd{account_kind::system, "clearing:bank", {}})});
    // In groups below the engine's batch limit.
    for (std::size_t from = 0; from < wallets; from += group_commands_max) {
      std::vector<command> opens;
      for (std::size_t i = from; i < std::min(wallets, from + group_commands_max); ++i)
        opens.push_back(make(open_account_cmd{account_kind::user, "user" + std::to_string(i), {{"USD", 0, 0}}}));
      for (const auto& o : run(std::move(opens)))
        if (o.accepted()) wallets_.push_back(o.account_id);
    }
    for (std::size_t from = 0; from < wallets_.size(); from += group_commands_max) {
      std::vector<command> deposits;
      for (std::size_t i = from; i < std::min(wallets_.size(), from + group_commands_max); ++i)
        deposits.push_back(make(deposit_cmd{wallets_[i], "USD", deposit_minor, "bank", "", ""}));
      run(std::move(deposits));
    }
  }

  static constexpr std::size_t group_commands_max = 4096;

  // `groups` groups of `per_group` random commands; the clock moves
  // `step_us` before each group.
  void mixed(std::size_t groups, std::size_t per_group, std::int64_t step_us) {
    for (std::size_t g = 0; g < groups; ++g) {
      clk_.advance_us(step_us);
      std::vector<command> cmds;
      for (std::size_t i = 0; i < per_group; ++i) cmds.push_back(random_command());
      for (const auto& o : run(std::move(cmds)))
        if (o.accepted() && o.pending_id != 0) holds_.push_back(o.pending_id);
    }
  }

  const std::vector<std::uint64_t>& wallets() const { return wallets_; }

 private:
  command random_command() {
    auto roll = rng_() % 100;
    auto n = wallets_.size();
    auto ia = rng_() % n;
    auto ib = n < 2 ? ia : (ia + 1 + rng_() % (n - 1)) % n;  // another wallet
    auto a = wallets_[ia], b = wallets_[ib];
    amount_t amount = 1 + amount_t(rng_() % 5000);
    if (roll < 70 || wallets_.size() < 2) return make(transfer_cmd{a, b, "USD", amount, 0, "", ""});
    if (roll < 82) return make(hold_cmd{a, b, "USD", amount, clk_.now_us() + 30'000'000, "", ""});
    if (roll < 92 && !holds_.empty()) return make(capture_cmd{take_hold(), 0});
    if (roll < 96 && !holds_.empty()) return make(void_hold_cmd{take_hold()});
    return make(deposit_cmd{a, "USD", amount, "bank", "", ""});
  }

  std::uint64_t take_hold() {
    auto i = rng_() % holds_.size();
    auto id = holds_[i];
    holds_[i] = holds_.back();
    holds_.pop_back();
    return id;
  }

  engine& e_;
  manual_clock& clk_;
  std::mt19937_64 rng_;
  std::string principal_;
  std::uint64_t key_ = 0;
  std::vector<std::uint64_t> wallets_;
  std::vector<std::uint64_t> holds_;
};

}  // namespace ledger::testing
