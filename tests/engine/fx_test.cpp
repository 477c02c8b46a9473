// Exchange between assets and limit tiers (engine/fx.cpp), through the real
// engine on RocksDB: quotes fixed in the engine, exchanges that spend them
// once, every refusal with its reason and no change, rounding checked with
// independent arithmetic (boost::multiprecision) across every pair of
// scales 0..18, and the trial balance of the rebuilt journal zero per asset
// after thousands of random exchanges. A failure prints its seed; rerun
// with LEDGER_SEED=<n>.
#include <doctest/doctest.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>
#include <random>
#include <string>

#include "engine/fx_math.h"
#include "engine/rebuild.h"
#include "tests/engine/harness.h"
#include "tests/engine/books.h"
#include "tests/engine/ledger_checks.h"

namespace {

using namespace ledger;
using ledger::testing::engine_harness;
using big = boost::multiprecision::cpp_int;

constexpr std::int64_t far_future_us = 4'000'000'000'000'000;  // year 2096
constexpr amount_t e18 = 1'000'000'000'000'000'000;

std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

big to_big(amount_t v) { return big(to_decimal(v)); }
big pow10_big(int e) {
  big v = 1;
  for (int i = 0; i < e; ++i) v *= 10;
  return v;
}
big ceil_div(const big& a, const big& b) { return (a + b - 1) / b; }

// The amounts a quote must carry, computed with arbitrary precision.
fx::amounts expected(fx_side side, amount_t amount, int sa, int sb, amount_t rate, std::uint32_t bps) {
  big p = pow10_big(sa + rate_scale - sb), r = to_big(rate), b = bps;
  big from, fee, to;
  if (side == fx_side::sell) {
    from = to_big(amount);
    fee = ceil_div(from * b, 10'000);
    to = (from - fee) * r / p;
  } else {
    to = to_big(amount);
    big net = ceil_div(to * p, r);
    fee = ceil_div(net * b, 10'000);
    from = net + fee;
  }
  auto back = [](const big& v) { return parse_amount(v.str(), 0).value.value_or(-1); };
  return fx::amounts{back(from), back(fee), back(to)};
}

// The house never gives more than the exact value of what it keeps
// (to * 10^e <= net * rate), and rounding costs the wallet less than one
// minor unit of the side that was rounded.
void check_house_favour(const quote_issued& q, int sa, int sb) {
  big p = pow10_big(sa + rate_scale - sb), r = to_big(q.rate_e18);
  big net = to_big(q.from_amount - q.fee), to = to_big(q.to_amount);
  CHECK(to * p <= net * r);
  if (q.side == fx_side::sell) CHECK(net * r < (to + 1) * p);
  else CHECK((net - 1) * r < to * p);
}

struct fx_fixture {
  engine_harness h;
  std::uint64_t fees = 0, fx_account = 0, alice = 0, bob = 0;
  fx_fixture() {
    h.setup_basics("USD", 2);
    h.must(h.run(register_asset_cmd{"BTC", 8, 1, amount_limit}));
    h.must(h.run(register_asset_cmd{"ETH", 18, 1, amount_limit}));
    fees = h.system_ids.at("fee_revenue");
    fx_account = h.must(h.run(open_account_cmd{account_kind::system, "fx", {}})).account_id;
    alice = h.open_wallet("alice", {{"USD", 0, 0}, {"BTC", 0, 0}, {"ETH", 0, 0}});
    bob = h.open_wallet("bob", {{"USD", 0, 0}, {"BTC", 0, 0}});
    h.fund(alice, 1'000'000, "USD");  // 10,000.00
    // 60,000.50 USD per BTC, 0.25 % fee, quotes live 30 s.
    h.must(h.run(set_rate_cmd{"USD", "BTC", 16'666'527'779'000, 25, 30, 0, far_future_us}));
    h.must(h.run(set_rate_cmd{"BTC", "USD", 60'000 * e18 + e18 / 2, 25, 30, 0, far_future_us}));
  }
  outcome quote(fx_side side, amount_t amount, std::string owner = "alice", std::string from = "USD",
                std::string to = "BTC") {
    return h.run(quote_cmd{std::move(owner), std::move(from), std::move(to), amount, side});
  }
  std::string bal(std::uint64_t account, const std::string& asset) {
    auto b = h.balance(account, asset);
    return b ? to_decimal(b->posted()) : "none";
  }
  void check_books() { ledger::testing::check_books(h); }
};

}  // namespace

TEST_CASE("fx: a sell quote takes the fee first and rounds what the wallet receives down") {
  fx_fixture f;
  auto o = f.quote(fx_side::sell, 10'000);  // 100.00 USD
  REQUIRE(why(o) == "accepted");
  REQUIRE(o.quote.has_value());
  const auto& q = *o.quote;
  CHECK(q.id == o.seq);
  CHECK(q.from_amount == 10'000);
  CHECK(q.fee == 25);  // 0.25 % of 100.00 USD
  auto want = expected(fx_side::sell, 10'000, 2, 8, q.rate_e18, 25);
  CHECK(q.to_amount == want.to_amount);
  // 99.75 USD at 0.000016666527779 BTC per USD is 0.00166248614... BTC: rounded down.
  CHECK(q.to_amount == 166'248);
  CHECK(q.expires_at_us == o.log_ts_us + 30'000'000);
  check_house_favour(q, 2, 8);
}

TEST_CASE("fx: a buy quote rounds what the wallet pays up") {
  fx_fixture f;
  auto o = f.quote(fx_side::buy, 100'000);  // 0.001 BTC
  REQUIRE(why(o) == "accepted");
  const auto& q = *o.quote;
  auto want = expected(fx_side::buy, 100'000, 2, 8, q.rate_e18, 25);
  CHECK(q.to_amount == 100'000);
  CHECK(q.from_amount == want.from_amount);
  CHECK(q.fee == want.fee);
  // 0.001 BTC is worth 60.0005... USD: 60.01 (rounded up) plus 0.16 fee (0.25 %, rounded up).
  CHECK(q.from_amount == 6'017);
  CHECK(q.fee == 16);
  check_house_favour(q, 2, 8);
}

TEST_CASE("fx: an exchange moves both assets in one event, double entry per asset") {
  fx_fixture f;
  f.h.must(f.h.run(set_fx_limit_cmd{"BTC", 100'000'000}));  // the house may owe 1 BTC
  auto q = *f.quote(fx_side::sell, 10'000).quote;
  auto o = f.h.run(exchange_cmd{"alice", q.id, f.alice, 0});
  REQUIRE(why(o) == "accepted");
  CHECK(o.transaction_id == o.seq);
  CHECK(f.bal(f.alice, "USD") == "990000");
  CHECK(f.bal(f.alice, "BTC") == to_decimal(q.to_amount));
  CHECK(f.bal(f.fx_account, "USD") == to_decimal(q.from_amount - q.fee));
  CHECK(f.bal(f.fx_account, "BTC") == to_decimal(-q.to_amount));
  CHECK(f.bal(f.fees, "USD") == to_decimal(q.fee));
  f.check_books();
}

TEST_CASE("fx: refusals name the reason and change nothing") {
  fx_fixture f;
  auto q = *f.quote(fx_side::sell, 10'000).quote;
  auto before_usd = f.bal(f.alice, "USD");
  SUBCASE("the house FX account may not go below zero without a limit") {
    auto o = f.h.run(exchange_cmd{"alice", q.id, f.alice, 0});
    CHECK(why(o) == "fx_limit_exceeded");
    CHECK(o.detail.find("BTC") != std::string::npos);
  }
  SUBCASE("unknown, foreign, used and expired quotes") {
    f.h.must(f.h.run(set_fx_limit_cmd{"BTC", 100'000'000}));
    CHECK(why(f.h.run(exchange_cmd{"alice", q.id + 1000, f.alice, 0})) == "unknown_quote");
    auto foreign = f.h.run(exchange_cmd{"bob", q.id, f.bob, 0});
    CHECK(why(foreign) == "quote_foreign");
    CHECK(foreign.detail.rfind("quote_id:", 0) == 0);
    f.h.must(f.h.run(exchange_cmd{"alice", q.id, f.alice, 0}));
    before_usd = f.bal(f.alice, "USD");
    auto again = f.h.run(exchange_cmd{"alice", q.id, f.alice, 0});
    CHECK(why(again) == "quote_used");
    CHECK(again.detail.find("spent by exchange") != std::string::npos);
    auto late = *f.quote(fx_side::sell, 10'000).quote;
    f.h.clock().advance_us(30'000'000);
    CHECK(why(f.h.run(exchange_cmd{"alice", late.id, f.alice, 0})) == "quote_expired");
  }
  SUBCASE("a wallet that does not hold the asset, or cannot pay") {
    f.h.must(f.h.run(set_fx_limit_cmd{"USD", 100'000'000}));
    auto sell_btc = *f.quote(fx_side::sell, 100'000, "bob", "BTC", "USD").quote;
    CHECK(why(f.h.run(exchange_cmd{"bob", sell_btc.id, f.bob, 0})) == "insufficient_funds");
    f.h.must(f.h.run(set_rate_cmd{"USD", "ETH", 3 * e18 / 10'000, 0, 30, 0, far_future_us}));
    auto q_eth = f.h.run(quote_cmd{"bob", "USD", "ETH", 100, fx_side::sell});
    REQUIRE(why(q_eth) == "accepted");
    CHECK(why(f.h.run(exchange_cmd{"bob", q_eth.quote->id, f.bob, 0})) == "asset_mismatch");
  }
  CHECK(f.bal(f.alice, "USD") == before_usd);
  f.check_books();
}

TEST_CASE("fx: quotes need a rate valid at the log time") {
  fx_fixture f;
  auto now = f.h.clock().now_us();
  CHECK(why(f.quote(fx_side::sell, 100, "alice", "USD", "ETH")) == "rate_unavailable");
  f.h.must(f.h.run(set_rate_cmd{"USD", "ETH", e18, 0, 60, now + 10'000'000, now + 20'000'000}));
  auto early = f.quote(fx_side::sell, 100, "alice", "USD", "ETH");
  CHECK(why(early) == "rate_unavailable");
  CHECK(early.detail.find("valid from") != std::string::npos);
  f.h.clock().advance_us(10'000'000);
  auto ok = f.quote(fx_side::sell, 100, "alice", "USD", "ETH");
  REQUIRE(why(ok) == "accepted");
  // A quote never outlives its rate's window.
  CHECK(ok.quote->expires_at_us == now + 20'000'000);
  f.h.clock().advance_us(10'000'000);
  CHECK(why(f.quote(fx_side::sell, 100, "alice", "USD", "ETH")) == "rate_unavailable");
  // A side that rounds to nothing is out of range, not a free trade.
  f.h.must(f.h.run(set_rate_cmd{"ETH", "USD", e18 / 1000, 0, 60, 0, far_future_us}));
  CHECK(why(f.quote(fx_side::sell, 1, "alice", "ETH", "USD")) == "amount_out_of_range");
  CHECK(why(f.quote(fx_side::sell, 100, "alice", "USD", "GBP")) == "unknown_asset");
}

TEST_CASE("fx: an exchange cannot be reversed") {
  fx_fixture f;
  f.h.must(f.h.run(set_fx_limit_cmd{"BTC", 100'000'000}));
  auto q = *f.quote(fx_side::sell, 10'000).quote;
  auto o = f.h.must(f.h.run(exchange_cmd{"alice", q.id, f.alice, 0}));
  CHECK(why(f.h.run(reverse_cmd{o.transaction_id, "oops"})) == "not_reversible");
}

TEST_CASE("fx: the conversion arithmetic is exact at the extremes") {
  // 10^36 - 1 at rate 1 between equal scales is itself.
  CHECK(fx::mul_pow10_floor(amount_limit, e18, rate_scale) == amount_limit);
  // A product near 10^72 divided back down.
  CHECK(fx::mul_pow10_floor(amount_limit, amount_limit, 36) == amount_limit - 1);
  CHECK(fx::mul_pow10_div_ceil(1, 36, amount_limit) == 2);
  CHECK_FALSE(fx::mul_pow10_floor(amount_limit, e18 * 10, rate_scale).has_value());
  CHECK(fx::fee_ceil(1, 1) == 1);
  CHECK(fx::fee_ceil(10'000, 25) == 25);
  CHECK(fx::fee_ceil(amount_limit, 5'000) == amount_limit / 2 + 1);
}

// Every pair of scales 0..18: random rates and amounts, each quote checked
// against arbitrary-precision arithmetic, then spent; the rebuilt journal's
// trial balance is zero per asset and no wallet is overdrawn.
TEST_CASE("fx: rounding across every pair of scales keeps the books at zero") {
  std::uint64_t seed = std::getenv("LEDGER_SEED") ? std::strtoull(std::getenv("LEDGER_SEED"), nullptr, 10)
                                                  : std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  engine_harness h;
  h.setup_basics("USD", 2);
  h.must(h.run(open_account_cmd{account_kind::system, "fx", {}}));
  std::vector<wallet_asset> held;
  std::vector<std::string> codes;
  for (int s = 0; s <= scale_max; ++s) {
    codes.push_back("S" + std::to_string(s));
    h.must(h.run(register_asset_cmd{codes.back(), static_cast<std::uint8_t>(s), 1, amount_limit}));
    h.must(h.run(set_fx_limit_cmd{codes.back(), amount_limit / 4}));
    held.push_back({codes.back(), 0, 0});
  }
  auto wallet = h.open_wallet("trader", held);
  std::vector<command> setup;
  for (int s = 0; s <= scale_max; ++s) {
    setup.push_back(command{"tester", "fund" + std::to_string(s), "", deposit_cmd{wallet, codes[s], amount_limit / 8, "stripe", "f" + std::to_string(s), ""}});
    for (int t = 0; t <= scale_max; ++t) {
      if (s == t) continue;
      // Rates from 10^-6 to 10^6 with up to 18 significant digits.
      amount_t rate = static_cast<amount_t>(rng() % 1'000'000'000'000'000'000ULL + 1) * 1'000'000;
      setup.push_back(command{"tester", "rate" + std::to_string(s) + "-" + std::to_string(t), "",
                              set_rate_cmd{codes[s], codes[t], rate, static_cast<std::uint32_t>(rng() % 200), 3600, 0,
                                           far_future_us}});
    }
  }
  for (const auto& o : h.run_all(std::move(setup))) REQUIRE(why(o) == "accepted");
  int accepted = 0, rounds = 40, per_round = 100;
  for (int round = 0; round < rounds; ++round) {
    std::vector<command> quotes;
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < per_round; ++i) {
      int s = static_cast<int>(rng() % 19), t = static_cast<int>((s + 1 + rng() % 18) % 19);
      fx_side side = rng() % 2 ? fx_side::sell : fx_side::buy;
      amount_t amount = static_cast<amount_t>(rng() % 1'000'000'000 + 1);
      for (int k = static_cast<int>(rng() % 10); k > 0; --k) amount *= 10;
      pairs.emplace_back(s, t);
      quotes.push_back(command{"trader", "q" + std::to_string(round) + "-" + std::to_string(i), "",
                               quote_cmd{"trader", codes[s], codes[t], amount, side}});
    }
    auto qs = h.run_all(quotes);
    std::vector<command> spends;
    for (std::size_t i = 0; i < qs.size(); ++i) {
      if (!qs[i].accepted()) {
        // A side rounded to zero, or one beyond 10^36 - 1 minor units.
        CHECK((why(qs[i]) == "amount_out_of_range" || why(qs[i]) == "overflow"));
        continue;
      }
      const auto& q = *qs[i].quote;
      auto [s, t] = pairs[i];
      const auto& c = std::get<quote_cmd>(quotes[i].body);
      auto want = expected(c.side, c.amount, s, t, q.rate_e18, q.fee_bps);
      CHECK(q.from_amount == want.from_amount);
      CHECK(q.fee == want.fee);
      CHECK(q.to_amount == want.to_amount);
      check_house_favour(q, s, t);
      spends.push_back(command{"trader", "x" + std::to_string(q.id), "", exchange_cmd{"trader", q.id, wallet, 0}});
    }
    for (const auto& o : h.run_all(std::move(spends))) {
      if (o.accepted()) ++accepted;
      else CHECK((why(o) == "insufficient_funds" || why(o) == "fx_limit_exceeded"));
    }
  }
  CHECK(accepted > rounds * per_round / 2);
  rebuilt_state r;
  REQUIRE(rebuild(h.eng().storage(), {}, r).is_ok());
  auto tb = ledger::testing::trial_balance_of(*r.state);
  CHECK(tb.zero());
  CHECK(tb.posted.size() >= 19);
  CHECK(ledger::testing::first_overdrawn_wallet(*r.state) == "");
}

namespace {

bool quote_stored(engine_harness& h, std::uint64_t id) {
  std::string v;
  return h.eng().storage().read_state(keys::quote(id), v).is_ok() && !v.empty();
}

// The effect of event `seq`, if that event is a quotes_forgotten system event.
std::optional<quotes_forgotten> forgotten_at(engine_harness& h, std::uint64_t seq) {
  journal_entry j;
  event e;
  if (!h.eng().storage().read_event(seq, j).is_ok() || !decode_event(j.event_bytes, e).is_ok()) return std::nullopt;
  if (e.effects.size() != 1 || !std::holds_alternative<quotes_forgotten>(e.effects[0])) return std::nullopt;
  return std::get<quotes_forgotten>(e.effects[0]);
}

}  // namespace

TEST_CASE("fx: quotes leave the key space a day after they expire, in bounded system events, across a restart") {
  fx_fixture f;
  f.h.must(f.h.run(set_fx_limit_cmd{"BTC", 100'000'000}));
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(f.quote(fx_side::sell, 100 + i).quote->id);
  auto spent = f.h.must(f.h.run(exchange_cmd{"alice", ids[5], f.alice, 0}));
  REQUIRE(quote_stored(f.h, ids[0]));

  // Expired (30 s) but within the day: still told apart from unknown ones.
  f.h.clock().advance_us(3'600'000'000);
  CHECK(why(f.h.run(exchange_cmd{"alice", ids[1], f.alice, 0})) == "quote_expired");
  CHECK(why(f.h.run(exchange_cmd{"alice", ids[5], f.alice, 0})) == "quote_used");

  // A day after expiry, 300 are due: the next command is preceded by one
  // system event forgetting the oldest 256, spent one included.
  f.h.clock().advance_us(quote_forget_after_us);
  auto next = f.h.run(exchange_cmd{"alice", ids[1], f.alice, 0});
  CHECK(why(next) == "unknown_quote");
  CHECK(next.detail.find("forgotten a day after they expire") != std::string::npos);
  auto swept = forgotten_at(f.h, next.seq - 1);
  REQUIRE(swept.has_value());
  CHECK(swept->ids.size() == quotes_forgotten_per_event_max);
  CHECK(swept->ids == std::vector<std::uint64_t>(ids.begin(), ids.begin() + quotes_forgotten_per_event_max));
  CHECK_FALSE(quote_stored(f.h, ids[5]));
  CHECK(quote_stored(f.h, ids[256]));

  // 44 due are too few for an event of their own until they have waited
  // another day.
  auto quiet = f.h.run(quote_cmd{"alice", "USD", "BTC", 100, fx_side::sell});
  CHECK_FALSE(forgotten_at(f.h, quiet.seq - 1).has_value());
  CHECK(quote_stored(f.h, ids[299]));

  // After a restart (the expiries are loaded from the key space) and
  // another day, the rest go.
  f.h.reopen();
  f.h.clock().advance_us(quote_forget_after_us);
  auto later = f.h.run(quote_cmd{"alice", "USD", "BTC", 100, fx_side::sell});
  auto rest = forgotten_at(f.h, later.seq - 1);
  REQUIRE(rest.has_value());
  CHECK(rest->ids.front() == ids[256]);
  CHECK(rest->ids.size() == 300 - quotes_forgotten_per_event_max);
  CHECK_FALSE(quote_stored(f.h, ids[299]));
  CHECK(quote_stored(f.h, quiet.quote->id));  // expired less than a day ago
  CHECK(quote_stored(f.h, later.quote->id));
  CHECK(spent.transaction_id != 0);
  f.check_books();
}
