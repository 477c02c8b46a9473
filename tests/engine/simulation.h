// The seeded command generator of the engine simulation, shared by the
// engine's invariant test (tests/engine/simulation_test.cpp) and the read
// models' zero-drift test (tests/projections/simulation_test.cpp).
//
// It drives an engine_harness with random batches of every command kind:
// deposits, transfers with fees, withdrawals settled and failed, holds
// captured, voided and expired, reversals, freezes and closes, retries with
// the same key (same or different payload). With `wide` set it also opens
// assets at every scale 0..18 with the largest amounts each allows, wallets
// with overdrafts, and fills references, reasons and metadata with random
// strings: NUL bytes, control characters, characters of every Unicode plane,
// invalid UTF-8, JSON and not JSON. Everything is a function of the seed.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/engine/harness.h"

namespace ledger::testing {

struct simulation_options {
  int wallets = 12;
  bool wide = false;  // every scale, random strings and metadata, larger amounts
};

class command_generator {
 public:
  command_generator(std::uint64_t seed, engine_harness& h, simulation_options o = {}) : rng_(seed), h_(h), o_(o) {}

  // Registers assets, opens the system accounts and the wallets.
  void setup() {
    h_.setup_basics("USD", 2);
    engine_harness::must(h_.run(register_asset_cmd{"BTC", 8, 1, 100'000'000'000}));
    assets_ = {"USD", "BTC"};
    if (o_.wide)
      for (int scale = 0; scale <= 18; ++scale) {
        std::string code = "S" + std::to_string(scale);
        engine_harness::must(h_.run(register_asset_cmd{code, static_cast<std::uint8_t>(scale), 1, amount_limit}));
        assets_.push_back(code);
      }
    for (int i = 0; i < o_.wallets; ++i) {
      std::vector<wallet_asset> assets = {{"USD", i % 7 == 0 ? 5'000 : 0, i % 5 == 0 ? 200'000 : 0}};
      if (i % 2 == 0) assets.push_back({"BTC", 0, 0});
      if (o_.wide)
        for (std::size_t a = 2; a < assets_.size(); ++a)
          assets.push_back({assets_[a], i % 3 == 0 ? amount_limit / 2 : 0, 0});
      ids_.push_back(h_.open_wallet(o_.wide ? random_text(32, false) + std::to_string(i) : "user" + std::to_string(i), assets));
    }
  }

  command random_command() {
    command c{"sim", "s" + std::to_string(++keys_), "", {}};
    int kind = pick(0, 99);
    if (kind < 20) {
      c.body = deposit_cmd{wallet(), asset(), amount(), roll(20) ? "nowhere" : "stripe", text(), metadata()};
    } else if (kind < 50) {
      c.body = transfer_cmd{wallet(), wallet(), asset(), amount(), roll(3) ? amount() / 100 : 0, text(), metadata()};
    } else if (kind < 60) {
      c.body = withdraw_cmd{wallet(), asset(), amount(), text(), metadata()};
    } else if (kind < 68) {
      c.body = hold_cmd{wallet(), wallet(), asset(), amount(),
                        h_.clock().now_us() + std::uniform_int_distribution<std::int64_t>(-10, 5'000'000)(rng_), text(),
                        metadata()};
    } else if (kind < 78) {
      c.body = capture_cmd{recent_id(), roll(2) ? amount() : 0};
    } else if (kind < 83) {
      c.body = void_hold_cmd{recent_id()};
    } else if (kind < 87) {
      if (roll(2))
        c.body = settle_withdrawal_cmd{recent_id()};
      else
        c.body = fail_withdrawal_cmd{recent_id(), o_.wide ? text() : "bank said no"};
    } else if (kind < 91) {
      c.body = reverse_cmd{recent_id(), o_.wide ? text() : "correction"};
    } else if (kind < 95) {
      if (roll(2))
        c.body = freeze_account_cmd{wallet()};
      else
        c.body = unfreeze_account_cmd{wallet()};
    } else if (kind < 97) {
      c.body = close_account_cmd{wallet()};
    } else if (!history_.empty()) {
      // A retry of an earlier command: same key, same payload...
      c = history_[std::uniform_int_distribution<std::size_t>(0, history_.size() - 1)(rng_)];
      // ...or, sometimes, the same key with another payload.
      if (roll(3)) c.body = deposit_cmd{wallet(), "USD", 1 + amount(), "stripe", "conflict", ""};
    } else {
      c.body = deposit_cmd{wallet(), "USD", 1, "stripe", "", ""};
    }
    if (o_.wide && roll(40)) c.request_id = random_text(64);  // any bytes; an invalid command keeps them
    return c;
  }

  // One round: 1..40 commands, sometimes retrying one of this very round.
  std::vector<command> random_round() {
    std::vector<command> cmds;
    int n = pick(1, 40);
    for (int i = 0; i < n; ++i) {
      if (i > 0 && roll(8))
        cmds.push_back(cmds[std::uniform_int_distribution<std::size_t>(0, cmds.size() - 1)(rng_)]);
      else
        cmds.push_back(random_command());
    }
    return cmds;
  }

  // Splits a round into 1..4 submissions in flight at once.
  std::vector<std::vector<command>> random_groups(const std::vector<command>& cmds) {
    std::vector<std::vector<command>> groups(std::uniform_int_distribution<std::size_t>(1, 4)(rng_));
    for (std::size_t i = 0; i < cmds.size(); ++i)
      groups[std::min(groups.size() - 1, i * groups.size() / cmds.size())].push_back(cmds[i]);
    std::erase_if(groups, [](const auto& g) { return g.empty(); });
    return groups;
  }

  // Sometimes moves log time on (holds expire).
  void maybe_advance_clock() {
    if (roll(4)) h_.clock().advance_us(std::uniform_int_distribution<std::int64_t>(0, 3'000'000)(rng_));
  }

  // Remembers a command whose key was seen for the first time.
  void remember(const command& c) { history_.push_back(c); }

  // Runs `rounds` rounds without checks (the caller checks what it needs).
  void run_rounds(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      auto cmds = random_round();
      maybe_advance_clock();
      for (const auto& c : cmds) remember(c);
      h_.run_groups(random_groups(cmds));
    }
  }

  bool roll(int one_in) { return pick(1, one_in) == 1; }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::uint64_t wallet() { return ids_[std::uniform_int_distribution<std::size_t>(0, ids_.size() - 1)(rng_)]; }
  std::string asset() {
    if (o_.wide && roll(3)) return assets_[std::uniform_int_distribution<std::size_t>(2, assets_.size() - 1)(rng_)];
    return roll(4) ? "BTC" : "USD";
  }
  amount_t amount() {
    if (o_.wide && roll(8)) {
      // Near the limit, where decimal formatting at scale 18 is widest.
      amount_t v = amount_limit - static_cast<amount_t>(pick(0, 1000));
      return roll(2) ? v : v / static_cast<amount_t>(pick(1, 1'000'000));
    }
    return static_cast<amount_t>(pick(0, 60'000));
  }
  std::uint64_t recent_id() {
    std::uint64_t head = h_.eng().head().seq;
    auto back = std::uniform_int_distribution<std::uint64_t>(0, 60)(rng_);
    return head > back ? head - back : 1;
  }
  std::string text() { return o_.wide && roll(2) ? random_text(40) : ""; }
  std::string metadata() {
    if (!o_.wide || roll(3)) return "";
    switch (pick(0, 3)) {
      case 0: return R"({"note":")" + json_escaped(random_text(24)) + R"(","n":[1,2.5,null,true]})";
      case 1: return R"({"k\u0000ey":"v\u0000","s":"\ud83d\ude00","lone":"\ud800","esc":"\\u0000"})";
      case 2: return random_text(60);  // not JSON at all
      default: return R"({"deep":{"a":[{"b":")" + json_escaped(random_text(8)) + R"("}]}})";
    }
  }
  // Random bytes: ASCII, NUL and control characters, a character of every
  // Unicode plane (0 to 16) as UTF-8, and bytes that are not UTF-8.
  // Without `controls`, no byte below 0x20 (owners must not have them).
  std::string random_text(int max_len, bool controls = true) {
    std::string s;
    int n = pick(0, max_len);
    for (int i = 0; i < n; ++i) {
      int k = pick(0, 9);
      if (k < 4 || (k == 4 && !controls)) s += static_cast<char>(pick(0x20, 0x7e));
      else if (k == 4) s += static_cast<char>(pick(0, 0x1f));
      else if (k == 5) s += static_cast<char>(pick(0x80, 0xff));
      else append_utf8(s, static_cast<std::uint32_t>(pick(0, 16)) << 16 | static_cast<std::uint32_t>(pick(0x20, 0xfffd)));
    }
    return s;
  }
  static void append_utf8(std::string& s, std::uint32_t cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // A JSON string body for `s` (which may still be invalid UTF-8: then the
  // "JSON" is not JSON, which the projector must take too).
  static std::string json_escaped(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
      else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else out += static_cast<char>(c);
    }
    return out;
  }

  std::mt19937_64 rng_;
  engine_harness& h_;
  simulation_options o_;
  std::vector<std::string> assets_;
  std::vector<std::uint64_t> ids_;
  std::uint64_t keys_ = 0;
  std::vector<command> history_;
};

}  // namespace ledger::testing
