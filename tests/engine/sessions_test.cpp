// The wallet-session commands through the real engine on RocksDB: challenges
// by log time, sessions consuming nonces, revocation, connections, the
// bounded expiry sweep, and that all of it survives a restart and replays
// to the same state digest.
#include <doctest/doctest.h>

#include <string>

#include "engine/rebuild.h"
#include "tests/engine/harness.h"
#include "tests/engine/state_checks.h"

namespace {

using namespace ledger;
using ledger::testing::engine_harness;
using ledger::testing::check_rebuild_digest;
using ledger::testing::has_state_key;

constexpr std::int64_t second_us = 1'000'000;
const std::string eth_address = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";

std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

std::string nonce_of(int i) { return "nonce" + std::string(12, 'a') + std::to_string(i); }
std::string token_of(int i) { return std::string(31, 't') + static_cast<char>('A' + i); }

issue_challenge_cmd challenge(int i, std::int64_t ttl_s = 300, const std::string& address = eth_address) {
  return issue_challenge_cmd{wallet_chain::ethereum, "1", address, "app.example.com", "https://app.example.com/login",
                             nonce_of(i), ttl_s};
}

open_session_cmd open(int i, std::int64_t duration_s = 3600, const std::string& address = eth_address) {
  return open_session_cmd{nonce_of(i), wallet_chain::ethereum, address, "eth:" + address, token_of(i), duration_s,
                          "signed message", "0xsig"};
}

}  // namespace

TEST_CASE("sessions: a challenge opens exactly one session, then the nonce is used") {
  engine_harness h;
  auto c = h.must(h.run(challenge(1)));
  CHECK(c.session_expires_at_us == h.clock().now_us() + 300 * second_us);
  CHECK(has_state_key(h, keys::challenge(nonce_of(1))));

  auto s = h.must(h.run(open(1)));
  CHECK(s.session_id == s.seq);
  CHECK(s.session_owner == "eth:" + eth_address);
  CHECK(has_state_key(h, keys::session(s.session_id)));
  CHECK(has_state_key(h, keys::session_token(token_of(1))));
  CHECK(has_state_key(h, keys::connection(wallet_chain::ethereum, eth_address)));

  auto again = h.run(open(1));
  CHECK(why(again) == "nonce_used");
  CHECK(again.detail == "the nonce already opened session " + std::to_string(s.session_id));
  CHECK(why(h.run(open(2))) == "unknown_challenge");
  CHECK(why(h.run(challenge(1))) == "nonce_used");
  check_rebuild_digest(h);
}

TEST_CASE("sessions: expiry, mismatch and the per-owner bound") {
  engine_harness h;
  SUBCASE("a challenge past its expiry by log time") {
    h.must(h.run(challenge(1, 5)));
    h.clock().advance_us(5 * second_us);
    // The sweep before the command removes it first.
    CHECK(why(h.run(open(1))) == "unknown_challenge");
    CHECK_FALSE(has_state_key(h, keys::challenge(nonce_of(1))));
  }
  SUBCASE("another address than the challenge's") {
    h.must(h.run(challenge(1)));
    CHECK(why(h.run(open(1, 3600, "0x0000000000000000000000000000000000000001"))) == "challenge_mismatch");
    // Nothing was consumed: the right address still signs in.
    h.must(h.run(open(1)));
  }
  SUBCASE("a token hash already in use") {
    h.must(h.run(challenge(1)));
    h.must(h.run(challenge(2)));
    h.must(h.run(open(1)));
    auto dup = open(2);
    dup.token_hash = token_of(1);
    CHECK(why(h.run(dup)) == "invalid_state");
  }
  SUBCASE("at most sessions_per_owner_max active sessions") {
    for (int i = 0; i < static_cast<int>(sessions_per_owner_max); ++i) {
      h.must(h.run(challenge(i)));
      auto o = open(i);
      o.token_hash = std::string(28, 'x') + std::to_string(1000 + i);
      h.must(h.run(o));
    }
    h.must(h.run(challenge(999)));
    auto o = open(999);
    CHECK(why(h.run(o)) == "too_many_sessions");
  }
  check_rebuild_digest(h);
}

TEST_CASE("sessions: revocation by id, by owner, by address, and unlinking") {
  engine_harness h;
  h.must(h.run(challenge(1)));
  h.must(h.run(challenge(2)));
  h.must(h.run(challenge(3)));
  auto a = h.must(h.run(open(1)));
  auto b = h.must(h.run(open(2)));
  auto c = h.must(h.run(open(3)));
  std::string owner = a.session_owner;

  CHECK(why(h.run(revoke_session_cmd{a.session_id, "someone-else"})) == "unknown_session");
  CHECK(h.must(h.run(revoke_session_cmd{a.session_id, owner})).sessions_closed == 1);
  CHECK_FALSE(has_state_key(h, keys::session(a.session_id)));
  CHECK_FALSE(has_state_key(h, keys::session_token(token_of(1))));
  CHECK(why(h.run(revoke_session_cmd{a.session_id, owner})) == "unknown_session");

  CHECK(h.must(h.run(revoke_sessions_cmd{owner, wallet_chain::ethereum, ""})).sessions_closed == 2);
  CHECK_FALSE(has_state_key(h, keys::session(b.session_id)));
  CHECK_FALSE(has_state_key(h, keys::session(c.session_id)));

  // The address stays connected to its owner; another owner cannot take it.
  CHECK(why(h.run(link_wallet_cmd{wallet_chain::ethereum, eth_address, "user-9"})) == "wallet_linked_elsewhere");
  CHECK(why(h.run(link_wallet_cmd{wallet_chain::ethereum, eth_address, owner})) == "invalid_state");
  h.must(h.run(challenge(4)));
  auto d = h.must(h.run(open(4)));
  auto u = h.must(h.run(unlink_wallet_cmd{wallet_chain::ethereum, eth_address}));
  CHECK(u.sessions_closed == 1);
  CHECK_FALSE(has_state_key(h, keys::session(d.session_id)));
  CHECK(why(h.run(unlink_wallet_cmd{wallet_chain::ethereum, eth_address})) == "unknown_connection");

  // Linked by an admin first: the first sign-in opens a session for that owner.
  h.must(h.run(link_wallet_cmd{wallet_chain::ethereum, eth_address, "user-9"}));
  h.must(h.run(challenge(5)));
  CHECK(h.must(h.run(open(5))).session_owner == "user-9");
  CHECK(h.must(h.run(revoke_sessions_cmd{"", wallet_chain::ethereum, eth_address})).sessions_closed == 1);
  check_rebuild_digest(h);
}

TEST_CASE("sessions: the sweep expires sessions by log time, survives a restart, and replays") {
  engine_harness h;
  h.must(h.run(challenge(1)));
  h.must(h.run(challenge(2)));
  auto short_lived = h.must(h.run(open(1, 10)));
  auto long_lived = h.must(h.run(open(2, 3600)));

  h.reopen();  // sessions and challenges are reloaded from the store
  h.clock().advance_us(11 * second_us);
  CHECK(has_state_key(h, keys::session(short_lived.session_id)));  // log time moves only with commands
  h.must(h.run(challenge(3)));
  CHECK_FALSE(has_state_key(h, keys::session(short_lived.session_id)));
  CHECK(has_state_key(h, keys::session(long_lived.session_id)));

  // Revocation and expiry are in the state after a restart too.
  h.must(h.run(revoke_session_cmd{long_lived.session_id, ""}));
  h.reopen();
  CHECK_FALSE(has_state_key(h, keys::session(long_lived.session_id)));
  h.clock().advance_us(400 * second_us);
  h.must(h.run(challenge(4)));
  // Used and unused challenges alike leave the state at their expiry.
  CHECK_FALSE(has_state_key(h, keys::challenge(nonce_of(1))));
  CHECK_FALSE(has_state_key(h, keys::challenge(nonce_of(3))));
  check_rebuild_digest(h);
}

TEST_CASE("sessions: the sweep is bounded per command") {
  engine_harness h;
  const int n = static_cast<int>(session_expiries_per_command_max) + 10;
  std::vector<command> cmds;
  for (int i = 0; i < n; ++i) cmds.push_back(command{"t", "c" + std::to_string(i), "", challenge(i, 1)});
  for (auto& o : h.run_all(std::move(cmds))) REQUIRE(o.accepted());
  h.clock().advance_us(2 * second_us);
  auto first = h.must(h.run(challenge(n + 1)));
  // One sweep event before the command: at most the bound of challenges.
  int left = 0;
  for (int i = 0; i < n; ++i) left += has_state_key(h, keys::challenge(nonce_of(i))) ? 1 : 0;
  CHECK(left == 10);
  CHECK(first.seq == static_cast<std::uint64_t>(n) + 2);
  h.must(h.run(challenge(n + 2)));
  left = 0;
  for (int i = 0; i < n; ++i) left += has_state_key(h, keys::challenge(nonce_of(i))) ? 1 : 0;
  CHECK(left == 0);
  check_rebuild_digest(h);
}

TEST_CASE("sessions: a refused sign-in is recorded as an auth_failed event, with no session state and no secret") {
  engine_harness h;
  auto o = h.must(h.run(record_auth_failure_cmd{wallet_chain::ethereum, "1", eth_address, "127.0.0.1", "signature_mismatch"}));
  // Nothing in the session state depends on it (only its idempotency record is kept, as for every command).
  CHECK_FALSE(has_state_key(h, keys::connection(wallet_chain::ethereum, eth_address)));

  journal_entry je;
  REQUIRE(h.eng().storage().read_event(o.seq, je).is_ok());
  event e;
  REQUIRE(decode_event(je.event_bytes, e).is_ok());
  REQUIRE(e.effects.size() == 1);
  auto* f = std::get_if<auth_failed>(&e.effects[0]);
  REQUIRE(f != nullptr);
  CHECK(f->address == eth_address);
  CHECK(f->client == "127.0.0.1");
  CHECK(f->check == "signature_mismatch");

  // Validation: the check is a refusal code, the client bounded and printable.
  CHECK(why(h.run(record_auth_failure_cmd{wallet_chain::ethereum, "1", eth_address, "127.0.0.1", "Bad Check"})) ==
        "invalid_argument");
  CHECK(why(h.run(record_auth_failure_cmd{wallet_chain::ethereum, "1", eth_address, std::string(65, '1'), "x"})) ==
        "invalid_argument");
  check_rebuild_digest(h);
}
