// Canonical encoding of commands and events, and structural validation.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "schemas/archive.h"
#include "schemas/codec.h"
#include "schemas/commands.h"
#include "schemas/events.h"

namespace {

using namespace ledger;

// One command of every type, every field set to a value other than its default.
std::vector<command_body> every_body() {
  return {
      register_asset_cmd{"USD-X_1", 7, 5, 123456789},
      open_account_cmd{account_kind::user, "user-42", {{"USD", 100, 5000}, {"EUR", 1, 2}}},
      open_account_cmd{account_kind::system, "clearing:stripe", {}},
      deposit_cmd{11, "USD", 12345, "stripe", "ref-1", "{\"a\":1}", "top-up"},
      withdraw_cmd{12, "EUR", 777, "ref-2", "meta-2", "rent"},
      settle_withdrawal_cmd{13},
      fail_withdrawal_cmd{14, "bank said no"},
      transfer_cmd{15, 16, "USD", 999, 3, "ref-3", "meta-3", "dinner"},
      hold_cmd{17, 18, "USD", 555, 1'700'000'123'456'789, "ref-4", "meta-4"},
      capture_cmd{19, 44},
      void_hold_cmd{20},
      reverse_cmd{21, "customer dispute"},
      freeze_account_cmd{22},
      unfreeze_account_cmd{23},
      close_account_cmd{24},
      issue_challenge_cmd{wallet_chain::solana, "mainnet", "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
                          "app.example.com", "https://app.example.com/login", "abcdefghijklmnopqr", 300},
      open_session_cmd{"abcdefghijklmnopqr", wallet_chain::ethereum, "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B",
                       "eth:0xAb58", std::string(32, '\x07'), 86'400, "app.example.com wants you to sign in", "0x1234"},
      revoke_session_cmd{25, "user-1"},
      revoke_sessions_cmd{"", wallet_chain::stacks, "SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7"},
      link_wallet_cmd{wallet_chain::ethereum, "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B", "user-7"},
      unlink_wallet_cmd{wallet_chain::solana, "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"},
      set_fee_schedule_cmd{"USD", money_kind::payment, 30, 290, 50, amount_limit},
      remove_fee_schedule_cmd{"USD", money_kind::withdrawal},
      open_deposit_cmd{4, "USD", 500, "stripe", "pi_1", "top-up", R"({"k":1})"},
      change_money_status_cmd{9, money_kind::refund, money_status::cancelled, "customer asked"},
      pay_cmd{4, 5, "USD", 700, "order-1", "shoes", "{}"},
      refund_cmd{9, 100, "r-1", "half", "{}"},
      provider_payment_cmd{"stripe", "pi_1", money_status::failed, 0, "", 0, "declined"},
      provider_refund_cmd{"stripe", "pi_1", "ch_1:300", 300, true},
      record_auth_failure_cmd{wallet_chain::stacks, "testnet", "ST3Y74M5227FDVHREWPH773F5Y1W1ED8WXXVB0G1S", "127.0.0.1",
                              "sip018_chain_id_mismatch"},
      register_payout_destination_cmd{4, "alice", "enc1:QUJD", "enc1:REVG", "enc1:R0hJ", "", "enc1:SktM"},
      upload_document_cmd{"alice", 7, document_category::visa, "enc1:QUJD", "application/pdf", 1234, "abababababababababababababababababababababababababababababababab", "abababababababababababababababababababababababababababababababab", "", "k1"},
      delete_document_cmd{12, "alice"},
      set_group_members_cmd{7, {"alice", "bob"}},
      set_rate_cmd{"USD", "BTC", 16'666'500'000'000, 25, 60, 1'700'000'000'000'000, 1'800'000'000'000'000},
      quote_cmd{"alice", "USD", "BTC", 1000, fx_side::buy},
      exchange_cmd{"alice", 77, 4, 5},
      set_fx_limit_cmd{"BTC", 100'000'000},
      set_owner_tier_cmd{"alice", owner_tier::enhanced},
      set_tier_limits_cmd{owner_tier::basic, "USD", 500, 1000, 20000},
      create_payment_request_cmd{"bob", 5, "alice", "USD", 1250, "dinner", 1'700'000'600'000'000},
      pay_payment_request_cmd{90, "alice", 4, "USD", 0},
      decline_payment_request_cmd{90, "alice", "not mine"},
      cancel_payment_request_cmd{91, "bob", ""},
      export_documents_cmd{"alice", 3, 4096},
      delete_owner_cmd{"alice", {12, 13}},
  };
}

command envelope(command_body body) { return command{"alice", "key-1", "req-1", std::move(body)}; }

void check_same(const command& a, const command& b) {
  CHECK(a.principal == b.principal);
  CHECK(a.idempotency_key == b.idempotency_key);
  CHECK(a.request_id == b.request_id);
  CHECK(a.body == b.body);
}

void put_u32_le(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

hash256 some_hash(std::uint8_t seed) {
  hash256 h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(seed + i * 7);
  return h;
}

// An event carrying every effect type, every field non-default.
event full_event() {
  event e;
  e.seq = 77;
  e.log_ts_us = 1'700'000'000'123'456;
  e.input_pos = 66;
  e.principal = "alice";
  e.idempotency_key = "key-9";
  e.request_id = "req-9";
  e.payload_hash = some_hash(3);
  e.body = encode_body(transfer_cmd{15, 16, "USD", 999, 3, "ref-3", "meta-3"});
  e.status = event_status::rejected;
  e.reason = reason::insufficient_funds;
  e.detail = "not enough";
  e.effects.push_back(asset_registered{"USD", 2, 1, amount_limit});
  e.effects.push_back(account_opened{5, account_kind::user, "bob", {{"USD", 10, 20}}});
  e.effects.push_back(account_status_changed{5, account_status::active, account_status::frozen});
  e.effects.push_back(balance_changed{5, "USD", 1, 2, 3, 4, -5, 6, 7});
  e.effects.push_back(daily_usage{5, "USD", 19700, 250});
  e.effects.push_back(pending_opened{77, pending_kind::withdrawal, 5, 2, "USD", 300, 1'700'000'999'000'000});
  e.effects.push_back(pending_closed{70, pending_resolution::expired, 0});
  e.effects.push_back(transaction_recorded{77, tx_kind::reversal, 40});
  e.effects.push_back(challenge_issued{"abcdefghijklmnopqr", wallet_chain::ethereum, "1", "0xAb58", "example.com",
                                       "https://example.com", 1'700'000'000'000'000, 1'700'000'300'000'000});
  e.effects.push_back(challenge_closed{"abcdefghijklmnopqr", challenge_resolution::expired});
  e.effects.push_back(session_opened{77, "bob", wallet_chain::stacks, "mainnet", "SP2J6", std::string(32, 'h'),
                                     "abcdefghijklmnopqr", 1'700'086'400'000'000});
  e.effects.push_back(session_closed{70, session_resolution::expired});
  e.effects.push_back(wallet_connected{wallet_chain::solana, "9xQe", "bob"});
  e.effects.push_back(wallet_disconnected{wallet_chain::solana, "9xQe", "bob"});
  e.effects.push_back(fee_schedule_changed{"USD", money_kind::transfer, false, 30, 290, 50, 1'000});
  e.effects.push_back(money_tx_opened{80, money_kind::refund, money_status::pending, 5, 4, "USD", 100, 0, "stripe",
                                      "r-1", "bob", "half", "{}", 79});
  e.effects.push_back(money_tx_changed{80, money_kind::refund, money_status::pending, money_status::failed, "no"});
  e.effects.push_back(auth_failed{wallet_chain::ethereum, "1", "0xAb58", "::1", "signature_mismatch"});
  e.effects.push_back(payout_destination_registered{77, 4, "alice", "enc1:QUJD", "enc1:REVG", "enc1:R0hJ", "", ""});
  e.effects.push_back(document_uploaded{77, "alice", 7, document_category::ticket, "enc1:QUJD", "image/png", 99, "abababababababababababababababababababababababababababababababab", "abababababababababababababababababababababababababababababababab",
                                        "abababababababababababababababababababababababababababababababab", "k1", 1'700'000'000'000'000});
  e.effects.push_back(document_deleted{70, "alice", 7, "abababababababababababababababababababababababababababababababab", ""});
  e.effects.push_back(group_members_set{7, {"alice"}, {"alice", "bob"}});
  e.effects.push_back(rate_set{"USD", "BTC", 16'666'500'000'000, 25, 60, 1'700'000'000'000'000, 1'800'000'000'000'000});
  e.effects.push_back(quote_issued{81, "alice", "USD", "BTC", fx_side::buy, 16'666'500'000'000, 25, 6017, 16, 100'000,
                                   1'700'000'060'000'000});
  e.effects.push_back(quote_used{81, 82, 4, 5, "USD", "BTC", 16'666'500'000'000, 6017, 16, 100'000});
  e.effects.push_back(fx_limit_set{"BTC", 100'000'000});
  e.effects.push_back(owner_tier_set{"alice", owner_tier::full});
  e.effects.push_back(tier_limits_set{owner_tier::basic, "USD", 500, 1000, 20000});
  e.effects.push_back(monthly_usage{5, "USD", 683, 4200});
  e.effects.push_back(payment_request_opened{90, "bob", 5, "alice", "USD", 1250, "dinner", 1'700'000'600'000'000});
  e.effects.push_back(payment_request_closed{90, payment_request_status::paid, 92, 4, ""});
  e.effects.push_back(documents_exported{"alice", 3, 4096, 1'700'000'000'000'000});
  e.effects.push_back(owner_deleted{"alice", {4, 5}, {9}, {12, 13}, 1'700'000'000'000'000,
                                    {{wallet_chain::solana, "So1anaAddr"}}, {77}, {90}});
  e.effects.push_back(quotes_forgotten{{81, 82, 90}});
  return e;
}

// Bytes of the event header (everything before the first effect), for locating fields.
std::size_t header_size(event e) {
  e.effects.clear();
  return encode_event(e).size();
}

}  // namespace

// --- commands ---------------------------------------------------------------

TEST_CASE("codec: every command type round trips through encode_command/decode_command") {
  auto bodies = every_body();
  // Every alternative of the variant is covered.
  std::vector<bool> seen(std::variant_size_v<command_body>, false);
  for (const auto& b : bodies) seen[b.index()] = true;
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK_MESSAGE(seen[i], "no sample of command index ", i);

  for (const auto& b : bodies) {
    INFO("type ", to_string(type_of(b)));
    command c = envelope(b);
    std::string bytes = encode_command(c);
    command back;
    REQUIRE(decode_command(bytes, back).is_ok());
    check_same(c, back);
    // Canonical: re-encoding gives the same bytes.
    CHECK(encode_command(back) == bytes);

    command_body body_back;
    REQUIRE(decode_body(encode_body(b), body_back).is_ok());
    CHECK(body_back == b);
    CHECK(type_of(body_back) == type_of(b));
  }
}

TEST_CASE("codec: extreme values round trip") {
  command c{std::string(owner_bytes_max, 'p'), std::string(key_bytes_max, 'k'), "", deposit_cmd{}};
  auto& d = c.body.emplace<deposit_cmd>();
  d.wallet = UINT64_MAX;
  d.asset = "A";
  d.amount = amount_limit;
  d.provider = std::string(1000, 'x');
  d.metadata = std::string("\0\xff\x01", 3);
  command back;
  REQUIRE(decode_command(encode_command(c), back).is_ok());
  check_same(c, back);

  command_body neg = hold_cmd{1, 2, "USD", -amount_limit, INT64_MIN, "", ""};
  command_body neg_back;
  REQUIRE(decode_body(encode_body(neg), neg_back).is_ok());
  CHECK(neg_back == neg);
}

TEST_CASE("codec: decode_body rejects every truncation") {
  for (const auto& b : every_body()) {
    INFO("type ", to_string(type_of(b)));
    std::string bytes = encode_body(b);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      command_body out;
      auto s = decode_body(std::string_view(bytes).substr(0, n), out);
      CHECK_MESSAGE(!s.is_ok(), "prefix of ", n, " of ", bytes.size(), " bytes decoded");
      if (!s.is_ok()) CHECK(s.error_code() == status::code::corruption);
    }
  }
}

TEST_CASE("codec: decode_command rejects every truncation") {
  for (const auto& b : every_body()) {
    INFO("type ", to_string(type_of(b)));
    std::string bytes = encode_command(envelope(b));
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      command out;
      auto s = decode_command(std::string_view(bytes).substr(0, n), out);
      CHECK_MESSAGE(!s.is_ok(), "prefix of ", n, " of ", bytes.size(), " bytes decoded");
    }
  }
}

TEST_CASE("codec: decode_body rejects trailing bytes, unknown types and versions") {
  for (const auto& b : every_body()) {
    INFO("type ", to_string(type_of(b)));
    std::string bytes = encode_body(b);
    command_body out;
    CHECK_FALSE(decode_body(bytes + '\0', out).is_ok());
    CHECK_FALSE(decode_body(bytes + 'x', out).is_ok());

    std::string unknown_type = bytes;
    unknown_type[0] = 99;
    unknown_type[1] = 0;
    CHECK_FALSE(decode_body(unknown_type, out).is_ok());
    unknown_type[0] = 0;  // command_type::none is not a command
    CHECK_FALSE(decode_body(unknown_type, out).is_ok());
    unknown_type[0] = 23;  // one past the last money command (fees and statuses end at 22)
    CHECK_FALSE(decode_body(unknown_type, out).is_ok());
    unknown_type[0] = static_cast<char>(bytes[0]);
    unknown_type[1] = 1;  // 256 + code
    CHECK_FALSE(decode_body(unknown_type, out).is_ok());

    // Every version up to the type's newest decodes (older layouts are
    // prefixes); the one after it does not.
    for (int v : {0, static_cast<unsigned char>(bytes[2]) + 1, 255}) {
      std::string unknown_version = bytes;
      unknown_version[2] = static_cast<char>(v);
      auto s = decode_body(unknown_version, out);
      CHECK_FALSE(s.is_ok());
      CHECK(s.message().find("version") != std::string::npos);
    }
  }
}

// Body version 2 appended a description to deposits, withdrawals and
// transfers: a version 1 body (the same bytes without it) still decodes, with
// no description, and nothing else about it changes.
TEST_CASE("codec: version 1 deposit, withdrawal and transfer bodies decode without a description") {
  const std::vector<command_body> newest = {deposit_cmd{11, "USD", 12345, "stripe", "ref-1", "{}", "top-up"},
                                            withdraw_cmd{12, "EUR", 777, "ref-2", "meta-2", "rent"},
                                            transfer_cmd{15, 16, "USD", 999, 3, "ref-3", "meta-3", "dinner"}};
  for (const auto& b : newest) {
    INFO("type ", to_string(type_of(b)));
    std::string bytes = encode_body(b);
    REQUIRE(bytes[2] == 2);
    const std::string description = std::visit([](const auto& c) -> std::string {
      if constexpr (requires { c.description; }) return c.description; else return {};
    }, b);
    // The description is the last field: u32 length, then its bytes.
    std::string v1 = bytes.substr(0, bytes.size() - 4 - description.size());
    v1[2] = 1;
    command_body out;
    REQUIRE(decode_body(v1, out).is_ok());
    command_body expected = b;
    std::visit([](auto& c) { if constexpr (requires { c.description; }) c.description.clear(); }, expected);
    CHECK(out == expected);
    // A version 1 body that carries the description has trailing bytes.
    std::string v1_with = bytes;
    v1_with[2] = 1;
    CHECK_FALSE(decode_body(v1_with, out).is_ok());
  }
}

TEST_CASE("codec: decode_command rejects trailing bytes and an unknown envelope version") {
  std::string bytes = encode_command(envelope(settle_withdrawal_cmd{3}));
  command out;
  CHECK_FALSE(decode_command(bytes + 'x', out).is_ok());
  std::string v2 = bytes;
  v2[0] = 2;
  CHECK_FALSE(decode_command(v2, out).is_ok());
  v2[0] = 0;
  CHECK_FALSE(decode_command(v2, out).is_ok());
  CHECK_FALSE(decode_command("", out).is_ok());
}

TEST_CASE("codec: decode_body rejects an absurd list length without allocating it") {
  open_account_cmd o{account_kind::user, "owner", {{"USD", 0, 0}}};
  std::string bytes = encode_body(o);
  // type (2) + version (1) + kind (1) + owner (4 + 5) puts the asset count at 13.
  const std::size_t count_at = 3 + 1 + 4 + o.owner.size();
  for (std::uint32_t n : {0xffffffffu, 0x7fffffffu, record_list_items_max + 1, 2u}) {
    INFO("count ", n);
    std::string bad = bytes;
    put_u32_le(bad, count_at, n);
    command_body out;
    CHECK_FALSE(decode_body(bad, out).is_ok());
  }
  // The untouched encoding still decodes (the offset above is right).
  std::string good = bytes;
  put_u32_le(good, count_at, 1);
  command_body out;
  CHECK(decode_body(good, out).is_ok());
  put_u32_le(good, count_at, 0);
  CHECK_FALSE(decode_body(good, out).is_ok());  // trailing bytes of the unclaimed element
}

TEST_CASE("codec: decode_body rejects out-of-domain values") {
  command_body out;
  SUBCASE("account kind") {
    std::string bytes = encode_body(open_account_cmd{account_kind::system, "fees", {}});
    for (int k : {0, 3, 255}) {
      std::string bad = bytes;
      bad[3] = static_cast<char>(k);
      CHECK_FALSE(decode_body(bad, out).is_ok());
    }
  }
  SUBCASE("amount beyond the limit") {
    CHECK_FALSE(decode_body(encode_body(deposit_cmd{1, "USD", amount_limit + 1, "p", "", ""}), out).is_ok());
    CHECK_FALSE(decode_body(encode_body(capture_cmd{1, -amount_limit - 1}), out).is_ok());
    CHECK(decode_body(encode_body(deposit_cmd{1, "USD", amount_limit, "p", "", ""}), out).is_ok());
  }
  SUBCASE("a string longer than any record may carry") {
    std::string huge(record_string_bytes_max + 1, 'm');
    CHECK_FALSE(decode_body(encode_body(deposit_cmd{1, "USD", 5, "p", "", huge}), out).is_ok());
  }
  SUBCASE("a string length past the end") {
    std::string bytes = encode_body(void_hold_cmd{1});
    bytes = encode_body(fail_withdrawal_cmd{1, "abc"});
    // type (2) + version (1) + id (8): the reason's length prefix.
    put_u32_le(bytes, 11, 4);
    CHECK_FALSE(decode_body(bytes, out).is_ok());
  }
}

// --- events -----------------------------------------------------------------

TEST_CASE("codec: an event with every effect type round trips") {
  event e = full_event();
  std::vector<bool> seen(std::variant_size_v<effect>, false);
  for (const auto& fx : e.effects) seen[fx.index()] = true;
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK_MESSAGE(seen[i], "no sample of effect index ", i);

  std::string bytes = encode_event(e);
  event back;
  REQUIRE(decode_event(bytes, back).is_ok());
  CHECK(encode_event(back) == bytes);
  CHECK(back.seq == 77);
  CHECK(back.log_ts_us == e.log_ts_us);
  CHECK(back.input_pos == 66);
  CHECK(back.principal == "alice");
  CHECK(back.idempotency_key == "key-9");
  CHECK(back.request_id == "req-9");
  CHECK(back.payload_hash == e.payload_hash);
  CHECK(back.body == e.body);
  CHECK(event_command_type(back) == command_type::transfer);
  CHECK(back.status == event_status::rejected);
  CHECK(back.reason == reason::insufficient_funds);
  CHECK(back.detail == "not enough");
  REQUIRE(back.effects.size() == e.effects.size());

  const auto& ar = std::get<asset_registered>(back.effects[0]);
  CHECK(ar.code == "USD");
  CHECK(ar.scale == 2);
  CHECK(to_decimal(ar.max_amount) == to_decimal(amount_limit));
  const auto& ao = std::get<account_opened>(back.effects[1]);
  CHECK(ao.id == 5);
  CHECK(ao.kind == account_kind::user);
  CHECK(ao.owner == "bob");
  CHECK(ao.assets == std::vector<wallet_asset>{{"USD", 10, 20}});
  const auto& sc = std::get<account_status_changed>(back.effects[2]);
  CHECK(sc.from == account_status::active);
  CHECK(sc.to == account_status::frozen);
  const auto& bc = std::get<balance_changed>(back.effects[3]);
  CHECK(bc.account == 5);
  CHECK(to_decimal(bc.d_debits_posted) == "1");
  CHECK(to_decimal(bc.d_credits_posted) == "2");
  CHECK(to_decimal(bc.d_debits_pending) == "3");
  CHECK(to_decimal(bc.d_credits_pending) == "4");
  CHECK(to_decimal(bc.posted_after) == "-5");
  CHECK(to_decimal(bc.debits_pending_after) == "6");
  CHECK(to_decimal(bc.credits_pending_after) == "7");
  const auto& du = std::get<daily_usage>(back.effects[4]);
  CHECK(du.day == 19700);
  CHECK(to_decimal(du.used_after) == "250");
  const auto& po = std::get<pending_opened>(back.effects[5]);
  CHECK(po.kind == pending_kind::withdrawal);
  CHECK(po.debit_account == 5);
  CHECK(po.credit_account == 2);
  CHECK(to_decimal(po.amount) == "300");
  CHECK(po.expires_at_us == 1'700'000'999'000'000);
  const auto& pc = std::get<pending_closed>(back.effects[6]);
  CHECK(pc.id == 70);
  CHECK(pc.resolution == pending_resolution::expired);
  const auto& tr = std::get<transaction_recorded>(back.effects[7]);
  CHECK(tr.kind == tx_kind::reversal);
  CHECK(tr.reverses == 40);
}

TEST_CASE("codec: a system event (no command) round trips") {
  event e;
  e.seq = 1;
  e.effects.push_back(pending_closed{1, pending_resolution::expired, 0});
  event back;
  REQUIRE(decode_event(encode_event(e), back).is_ok());
  CHECK(back.principal.empty());
  CHECK(back.body.empty());
  CHECK(event_command_type(back) == command_type::none);
  CHECK(back.status == event_status::accepted);
}

TEST_CASE("codec: decode_event rejects every truncation and trailing bytes") {
  std::string bytes = encode_event(full_event());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    event out;
    auto s = decode_event(std::string_view(bytes).substr(0, n), out);
    CHECK_MESSAGE(!s.is_ok(), "prefix of ", n, " of ", bytes.size(), " bytes decoded");
  }
  event out;
  CHECK_FALSE(decode_event(bytes + 'x', out).is_ok());
}

TEST_CASE("codec: decode_event rejects out-of-range enums and versions") {
  event e = full_event();
  e.effects.clear();
  const std::string base = encode_event(e);
  // version (1) seq (8) ts (8) input (8), three strings, 32-byte hash, body: then status, reason (2).
  const std::size_t status_at = 1 + 8 + 8 + 8 + (4 + e.principal.size()) + (4 + e.idempotency_key.size()) +
                                (4 + e.request_id.size()) + 32 + (4 + e.body.size());
  const std::size_t reason_at = status_at + 1;
  event out;
  REQUIRE(decode_event(base, out).is_ok());
  REQUIRE(static_cast<std::uint8_t>(base[status_at]) == static_cast<std::uint8_t>(event_status::rejected));

  SUBCASE("status") {
    for (int v : {0, 3, 7, 255}) {
      std::string bad = base;
      bad[status_at] = static_cast<char>(v);
      CHECK_FALSE(decode_event(bad, out).is_ok());
    }
  }
  SUBCASE("reason") {
    std::string bad = base;
    bad[reason_at] = static_cast<char>(reason_max + 1);
    CHECK_FALSE(decode_event(bad, out).is_ok());
    bad[reason_at] = static_cast<char>(reason_max);
    CHECK(decode_event(bad, out).is_ok());
    bad[reason_at + 1] = 1;  // 256 + reason_max
    CHECK_FALSE(decode_event(bad, out).is_ok());
  }
  SUBCASE("version") {
    for (int v : {0, 2, 255}) {
      std::string bad = base;
      bad[0] = static_cast<char>(v);
      CHECK_FALSE(decode_event(bad, out).is_ok());
    }
  }
  SUBCASE("effect count") {
    std::string bad = base;
    const std::size_t count_at = bad.size() - 4;
    put_u32_le(bad, count_at, record_list_items_max + 1);
    CHECK_FALSE(decode_event(bad, out).is_ok());
    put_u32_le(bad, count_at, 0xffffffffu);
    CHECK_FALSE(decode_event(bad, out).is_ok());
    put_u32_le(bad, count_at, 1);  // claims an effect that is not there
    CHECK_FALSE(decode_event(bad, out).is_ok());
  }
}

TEST_CASE("codec: decode_event rejects out-of-range effect fields") {
  // Each case: one effect, the offset of an enum byte inside it (after the type byte), and bad values.
  struct probe {
    const char* name;
    effect fx;
    std::size_t at;
    std::vector<int> bad;
  };
  std::vector<probe> probes = {
      {"effect type", transaction_recorded{1, tx_kind::deposit, 0}, 0, {17, 18, 255}},
      {"account kind", account_opened{1, account_kind::user, "o", {}}, 1 + 8, {0, 3}},
      {"status from", account_status_changed{1, account_status::active, account_status::frozen}, 1 + 8, {0, 4, 7}},
      {"status to", account_status_changed{1, account_status::active, account_status::frozen}, 1 + 9, {0, 4, 7}},
      {"pending kind", pending_opened{1, pending_kind::hold, 1, 2, "USD", 5, 9}, 1 + 8, {0, 3}},
      {"resolution", pending_closed{1, pending_resolution::voided, 0}, 1 + 8, {0, 6, 255}},
      {"tx kind", transaction_recorded{1, tx_kind::deposit, 0}, 1 + 8, {0, 9}},
      {"owner tier", owner_tier_set{"o", owner_tier::basic}, 1 + 4 + 1, {4, 255}},
      {"tier of limits", tier_limits_set{owner_tier::basic, "USD", 1, 2, 3}, 1, {4, 255}},
      {"fee kind", fee_schedule_changed{"USD", money_kind::transfer, false, 0, 0, 0, 0}, 1 + 4 + 3, {0, 6}},
      {"money kind", money_tx_opened{1, money_kind::payment, money_status::pending, 1, 2, "USD", 5}, 1 + 8, {0, 6}},
      {"money status", money_tx_opened{1, money_kind::payment, money_status::pending, 1, 2, "USD", 5}, 1 + 9, {0, 6}},
      {"change to", money_tx_changed{1, money_kind::payment, money_status::pending, money_status::failed, ""}, 1 + 10, {0, 6}},
  };
  for (const auto& p : probes) {
    INFO(p.name);
    event e;
    e.seq = 1;
    e.effects.push_back(p.fx);
    std::string bytes = encode_event(e);
    event out;
    REQUIRE(decode_event(bytes, out).is_ok());
    const std::size_t at = header_size(e) + p.at;
    for (int v : p.bad) {
      std::string bad = bytes;
      bad[at] = static_cast<char>(v);
      CHECK_MESSAGE(!decode_event(bad, out).is_ok(), "value ", v, " accepted");
    }
  }
}

TEST_CASE("codec: journal records") {
  hash256 chain = some_hash(9);
  std::string ev = encode_event(full_event());
  std::string rec = encode_journal_record(ev, chain);
  std::string_view ev_back;
  hash256 chain_back{};
  REQUIRE(split_journal_record(rec, ev_back, chain_back).is_ok());
  CHECK(ev_back == ev);
  CHECK(chain_back == chain);

  for (std::size_t n = 0; n < chain.size(); ++n) {
    std::string_view out_ev;
    hash256 out_chain{};
    auto s = split_journal_record(std::string(n, 'x'), out_ev, out_chain);
    CHECK_FALSE(s.is_ok());
    CHECK(s.error_code() == status::code::corruption);
  }
  // A bare hash splits into an empty event, which then does not decode.
  std::string bare = encode_journal_record("", chain);
  REQUIRE(split_journal_record(bare, ev_back, chain_back).is_ok());
  CHECK(ev_back.empty());
  CHECK(chain_back == chain);
  event out;
  CHECK_FALSE(decode_event(ev_back, out).is_ok());
}

// --- validation -----------------------------------------------------------------

namespace {

// The field validate() names for a command, or "" if it is valid.
std::string invalid_field(const command& c) {
  auto e = validate(c);
  return e ? e->field : std::string();
}
std::string invalid_field(command_body body) { return invalid_field(envelope(std::move(body))); }

}  // namespace

TEST_CASE("validate: well-formed commands pass") {
  for (const auto& b : every_body()) {
    INFO("type ", to_string(type_of(b)));
    CHECK(invalid_field(b) == "");
  }
  CHECK(invalid_field(transfer_cmd{1, 2, "USD", 5, 0, "", ""}) == "");
  CHECK(invalid_field(capture_cmd{1, 0}) == "");  // 0: the whole hold
  CHECK(invalid_field(deposit_cmd{1, "USD", amount_limit, "p", std::string(reference_bytes_max, 'r'),
                                  std::string(metadata_bytes_max, 'm')}) == "");
  CHECK(invalid_field(command{std::string(owner_bytes_max, 'p'), std::string(key_bytes_max, 'k'),
                              std::string(key_bytes_max, 'r'), void_hold_cmd{1}}) == "");
  CHECK(invalid_field(register_asset_cmd{"USD", 18, 1, 1}) == "");
  // Metadata is opaque: any bytes, control characters included.
  CHECK(invalid_field(deposit_cmd{1, "USD", 1, "p", "", std::string("\0\n\x7f", 3)}) == "");
}

TEST_CASE("validate: envelope") {
  command c = envelope(void_hold_cmd{1});
  SUBCASE("empty principal") {
    c.principal = "";
    CHECK(invalid_field(c) == "principal");
  }
  SUBCASE("principal too long") {
    c.principal = std::string(owner_bytes_max + 1, 'p');
    CHECK(invalid_field(c) == "principal");
  }
  SUBCASE("principal with NUL") {
    c.principal = std::string("a\0b", 3);
    CHECK(invalid_field(c) == "principal");
  }
  SUBCASE("empty key") {
    c.idempotency_key = "";
    CHECK(invalid_field(c) == "idempotency_key");
  }
  SUBCASE("key of 256 bytes") {
    c.idempotency_key = std::string(256, 'k');
    CHECK(invalid_field(c) == "idempotency_key");
  }
  SUBCASE("key with a newline") {
    c.idempotency_key = "a\nb";
    CHECK(invalid_field(c) == "idempotency_key");
  }
  SUBCASE("request id too long") {
    c.request_id = std::string(256, 'r');
    CHECK(invalid_field(c) == "request_id");
  }
}

TEST_CASE("validate: register_asset") {
  CHECK(invalid_field(register_asset_cmd{"", 2, 1, 10}) == "code");
  CHECK(invalid_field(register_asset_cmd{"usd", 2, 1, 10}) == "code");
  CHECK(invalid_field(register_asset_cmd{"US D", 2, 1, 10}) == "code");
  CHECK(invalid_field(register_asset_cmd{"US$", 2, 1, 10}) == "code");
  CHECK(invalid_field(register_asset_cmd{"\xc3\x89UR", 2, 1, 10}) == "code");
  CHECK(invalid_field(register_asset_cmd{std::string(asset_code_bytes_max + 1, 'A'), 2, 1, 10}) == "code");
  CHECK(invalid_field(register_asset_cmd{std::string(asset_code_bytes_max, 'A'), 2, 1, 10}) == "");
  CHECK(invalid_field(register_asset_cmd{"USD", 19, 1, 10}) == "scale");
  CHECK(invalid_field(register_asset_cmd{"USD", 255, 1, 10}) == "scale");
  CHECK(invalid_field(register_asset_cmd{"USD", 2, 0, 10}) == "min_amount");
  CHECK(invalid_field(register_asset_cmd{"USD", 2, -1, 10}) == "min_amount");
  CHECK(invalid_field(register_asset_cmd{"USD", 2, 1, amount_limit + 1}) == "max_amount");
  CHECK(invalid_field(register_asset_cmd{"USD", 2, 10, 9}) == "max_amount");
}

TEST_CASE("validate: open_account") {
  CHECK(invalid_field(open_account_cmd{account_kind::user, "", {{"USD", 0, 0}}}) == "owner");
  CHECK(invalid_field(open_account_cmd{account_kind::user, std::string(owner_bytes_max + 1, 'o'), {{"USD", 0, 0}}}) ==
        "owner");
  CHECK(invalid_field(open_account_cmd{account_kind::user, "u", {}}) == "assets");
  CHECK(invalid_field(open_account_cmd{account_kind::user, "u", {{"USD", 0, 0}, {"EUR", 0, 0}, {"USD", 5, 0}}}) ==
        "assets");
  CHECK(invalid_field(open_account_cmd{account_kind::system, "payouts", {{"USD", 0, 0}}}) == "assets");
  CHECK(invalid_field(open_account_cmd{account_kind::user, "u", {{"", 0, 0}}}) == "assets.asset");
  CHECK(invalid_field(open_account_cmd{account_kind::user, "u", {{"USD", -1, 0}}}) == "assets.overdraft_limit");
  CHECK(invalid_field(open_account_cmd{account_kind::user, "u", {{"USD", 0, -1}}}) == "assets.daily_debit_limit");
  std::vector<wallet_asset> many;
  for (std::size_t i = 0; i <= wallet_assets_max; ++i) many.push_back({"A" + std::to_string(i), 0, 0});
  CHECK(invalid_field(open_account_cmd{account_kind::user, "u", many}) == "assets");
  many.pop_back();
  CHECK(invalid_field(open_account_cmd{account_kind::user, "u", many}) == "");
}

TEST_CASE("validate: money movements") {
  SUBCASE("deposit") {
    CHECK(invalid_field(deposit_cmd{0, "USD", 5, "p", "", ""}) == "wallet");
    CHECK(invalid_field(deposit_cmd{1, "", 5, "p", "", ""}) == "asset");
    CHECK(invalid_field(deposit_cmd{1, "USD", -5, "p", "", ""}) == "amount");
    CHECK(invalid_field(deposit_cmd{1, "USD", 0, "p", "", ""}) == "amount");
    CHECK(invalid_field(deposit_cmd{1, "USD", amount_limit + 1, "p", "", ""}) == "amount");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "", "", ""}) == "provider");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "p", "line\nbreak", ""}) == "reference");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "p", "tab\there", ""}) == "reference");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "p", "del\x7f", ""}) == "reference");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "p", std::string(reference_bytes_max + 1, 'r'), ""}) == "reference");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "p", "", std::string(metadata_bytes_max + 1, 'm')}) == "metadata");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "p", "", "", std::string(description_bytes_max + 1, 'd')}) ==
          "description");
    CHECK(invalid_field(deposit_cmd{1, "USD", 5, "p", "", "", "bell\a"}) == "description");
  }
  SUBCASE("withdraw") {
    CHECK(invalid_field(withdraw_cmd{0, "USD", 5, "", ""}) == "wallet");
    CHECK(invalid_field(withdraw_cmd{1, "USD", -1, "", ""}) == "amount");
    CHECK(invalid_field(withdraw_cmd{1, "USD", 0, "", ""}) == "amount");
    CHECK(invalid_field(withdraw_cmd{1, "USD", 5, "\x01", ""}) == "reference");
    CHECK(invalid_field(withdraw_cmd{1, "USD", 5, "", std::string(metadata_bytes_max + 1, 'm')}) == "metadata");
    CHECK(invalid_field(withdraw_cmd{1, "USD", 5, "", "", std::string(description_bytes_max + 1, 'd')}) ==
          "description");
    CHECK(invalid_field(settle_withdrawal_cmd{0}) == "withdrawal_id");
    CHECK(invalid_field(fail_withdrawal_cmd{0, ""}) == "withdrawal_id");
    CHECK(invalid_field(fail_withdrawal_cmd{1, "\x1b[31m"}) == "reason");
  }
  SUBCASE("transfer") {
    CHECK(invalid_field(transfer_cmd{0, 2, "USD", 5, 0, "", ""}) == "from");
    CHECK(invalid_field(transfer_cmd{1, 0, "USD", 5, 0, "", ""}) == "to");
    CHECK(invalid_field(transfer_cmd{1, 2, "USD", -5, 0, "", ""}) == "amount");
    CHECK(invalid_field(transfer_cmd{1, 2, "USD", 0, 1, "", ""}) == "amount");
    CHECK(invalid_field(transfer_cmd{1, 2, "USD", 5, -1, "", ""}) == "fee");
    CHECK(invalid_field(transfer_cmd{1, 2, "USD", 5, amount_limit + 1, "", ""}) == "fee");
    CHECK(invalid_field(transfer_cmd{1, 2, "USD", 5, 0, "\n", ""}) == "reference");
    CHECK(invalid_field(transfer_cmd{1, 2, "USD", 5, 0, "", "", "new\nline"}) == "description");
    CHECK(invalid_field(transfer_cmd{1, 2, "USD", 5, 0, "", std::string(metadata_bytes_max + 1, 'm')}) ==
          "metadata");
  }
  SUBCASE("hold, capture, void, reverse") {
    CHECK(invalid_field(hold_cmd{0, 2, "USD", 5, 1, "", ""}) == "wallet");
    CHECK(invalid_field(hold_cmd{1, 0, "USD", 5, 1, "", ""}) == "to");
    CHECK(invalid_field(hold_cmd{1, 2, "USD", 0, 1, "", ""}) == "amount");
    CHECK(invalid_field(hold_cmd{1, 2, "USD", 5, 0, "", ""}) == "expires_at");
    CHECK(invalid_field(hold_cmd{1, 2, "USD", 5, -1, "", ""}) == "expires_at");
    CHECK(invalid_field(hold_cmd{1, 2, "USD", 5, 1, "", std::string(metadata_bytes_max + 1, 'm')}) == "metadata");
    CHECK(invalid_field(capture_cmd{0, 0}) == "hold_id");
    CHECK(invalid_field(capture_cmd{1, -1}) == "amount");
    CHECK(invalid_field(void_hold_cmd{0}) == "hold_id");
    CHECK(invalid_field(reverse_cmd{0, ""}) == "transaction_id");
    CHECK(invalid_field(reverse_cmd{1, std::string(reference_bytes_max + 1, 'r')}) == "reason");
  }
  SUBCASE("status changes") {
    CHECK(invalid_field(freeze_account_cmd{0}) == "account");
    CHECK(invalid_field(unfreeze_account_cmd{0}) == "account");
    CHECK(invalid_field(close_account_cmd{0}) == "account");
  }
}

TEST_CASE("validate: a message accompanies every field error") {
  auto e = validate(envelope(transfer_cmd{1, 2, "USD", 5, -1, "", ""}));
  REQUIRE(e.has_value());
  CHECK(e->field == "fee");
  CHECK_FALSE(e->message.empty());
}

// The encoding is canonical: whatever decodes must encode back to the very
// same bytes, so no two byte strings stand for one record. Every single-byte
// corruption either fails to decode or is such a canonical form.
TEST_CASE("codec: single-byte corruptions fail or decode canonically") {
  const std::uint8_t values[] = {0x00, 0x01, 0x02, 0x07, 0x7f, 0x80, 0xfe, 0xff};
  for (const auto& b : every_body()) {
    INFO("type ", to_string(type_of(b)));
    const std::string bytes = encode_command(envelope(b));
    for (std::size_t i = 0; i < bytes.size(); ++i)
      for (auto v : values) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(v);
        command out;
        if (decode_command(bad, out).is_ok()) CHECK_MESSAGE(encode_command(out) == bad, "byte ", i, " = ", int(v));
      }
  }
  const std::string bytes = encode_event(full_event());
  for (std::size_t i = 0; i < bytes.size(); ++i)
    for (auto v : values) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(v);
      event out;
      if (decode_event(bad, out).is_ok()) CHECK_MESSAGE(encode_event(out) == bad, "byte ", i, " = ", int(v));
    }
}

TEST_CASE("regression: a 19th varint byte with bits past bit 127 is refused, not dropped (non-canonical amount)") {
  // 18 continuation bytes carrying zero, then a 19th whose payload sits at
  // bit 126: only its two low bits fit in 128 bits. 0x04 used to be dropped
  // silently, decoding a second byte form of 0.
  std::string bytes(18, static_cast<char>(0x80));
  bytes.push_back(0x04);
  reader r(bytes);
  (void)r.amount();
  CHECK_FALSE(r.ok());
  for (int high : {0x04, 0x08, 0x10, 0x20, 0x40, 0x7f}) {
    std::string b(18, static_cast<char>(0x80));
    b.push_back(static_cast<char>(high));
    reader rr(b);
    (void)rr.amount();
    CHECK_MESSAGE(!rr.ok(), "19th byte " << high);
  }
  // The two bits that fit still decode (the value is then out of the amount
  // range, which the field decoder refuses separately).
  std::string fits(18, static_cast<char>(0x80));
  fits.push_back(0x01);
  reader ok_reader(fits);
  (void)ok_reader.amount();
  CHECK(ok_reader.ok());
  // And every in-range amount still round trips.
  for (amount_t v : {amount_t(0), amount_t(-1), amount_limit, -amount_limit}) {
    std::string out;
    writer w(out);
    w.amount(v);
    reader rv(out);
    CHECK(rv.amount() == v);
    CHECK(rv.ok());
    CHECK(rv.at_end());
  }
}

TEST_CASE("validate: register_payout_destination carries ciphertext only") {
  auto cmd = [](std::string name, std::string number) {
    return register_payout_destination_cmd{4, "alice", std::move(name), "enc1:REVG", std::move(number), "", ""};
  };
  CHECK(invalid_field(cmd("enc1:QUJD", "enc1:R0hJ")) == "");
  // Plain text is refused, so it cannot reach the journal by mistake.
  CHECK(invalid_field(cmd("Alice Example", "enc1:R0hJ")) == "account_name");
  CHECK(invalid_field(cmd("enc1:QUJD", "GB29NWBK60161331926819")) == "account_number");
  CHECK(invalid_field(cmd("enc1:QUJD", "enc1:not base64!")) == "account_number");
  CHECK(invalid_field(cmd("enc1:QUJD", "")) == "account_number");
  CHECK(invalid_field(register_payout_destination_cmd{0, "alice", "enc1:QUJD", "enc1:REVG", "enc1:R0hJ", "", ""}) == "wallet");
}

TEST_CASE("validate: documents carry ciphertext names, hex hashes, bounded groups") {
  const std::string h(64, 'a');
  auto up = [&](std::string name, std::string sha) {
    return upload_document_cmd{"alice", 0, document_category::passport, std::move(name), "application/pdf", 10, std::move(sha), h, "", "k1"};
  };
  CHECK(invalid_field(up("enc1:QUJD", h)) == "");
  CHECK(invalid_field(up("passport.pdf", h)) == "file_name");
  CHECK(invalid_field(up("enc1:QUJD", std::string(64, 'A'))) == "content_sha256");
  CHECK(invalid_field(up("enc1:QUJD", "abc")) == "content_sha256");
  auto zero = up("enc1:QUJD", h);
  zero.size_bytes = 0;
  CHECK(invalid_field(zero) == "size_bytes");
  auto bad_cat = up("enc1:QUJD", h);
  bad_cat.category = static_cast<document_category>(9);
  CHECK(invalid_field(bad_cat) == "category");
  command_body decoded;
  CHECK_FALSE(decode_body(encode_body(bad_cat), decoded).is_ok());
  CHECK(invalid_field(delete_document_cmd{0, "alice"}) == "document_id");
  CHECK(invalid_field(set_group_members_cmd{7, {"a", "a"}}) == "members");
  CHECK(invalid_field(set_group_members_cmd{0, {}}) == "group");
  CHECK(invalid_field(set_group_members_cmd{7, std::vector<std::string>(65, "x")}) == "members");
  CHECK(invalid_field(set_group_members_cmd{7, {}}) == "");
}

TEST_CASE("codec: an owner_deleted written before addresses, groups and payment requests decodes with them empty") {
  event e;
  e.seq = 9;
  e.effects.push_back(owner_deleted{"alice", {4}, {9}, {12}, 1'700'000'000'000'000, {}, {}, {}});
  std::string bytes = encode_event(e);
  // The three later lists are empty: three u32 counts of zero at the end.
  REQUIRE(bytes.substr(bytes.size() - 12) == std::string(12, '\0'));
  std::string old_layout = bytes.substr(0, bytes.size() - 12);
  event back;
  REQUIRE(decode_event(old_layout, back).is_ok());
  CHECK(encode_event(back) == bytes);
  // The new layout with its lists filled round trips, and a cut inside the
  // new lists is refused rather than read as the old layout.
  std::get<owner_deleted>(e.effects[0]).addresses = {{wallet_chain::stacks, "SP2J6"}};
  std::get<owner_deleted>(e.effects[0]).payment_requests = {90, 91};
  bytes = encode_event(e);
  REQUIRE(decode_event(bytes, back).is_ok());
  CHECK(encode_event(back) == bytes);
  CHECK(std::get<owner_deleted>(back.effects[0]).addresses == std::get<owner_deleted>(e.effects[0]).addresses);
  CHECK_FALSE(decode_event(bytes.substr(0, bytes.size() - 4), back).is_ok());
  CHECK_FALSE(decode_event(old_layout + std::string(1, '\0'), back).is_ok());
}

TEST_CASE("codec: decode_event over an earlier event gives what a fresh decode gives") {
  // Readers decode each event over the previous one to keep its buffers;
  // nothing of the previous event may survive into the next.
  event filled_deletion;
  filled_deletion.seq = 9;
  filled_deletion.effects.push_back(owner_deleted{"alice", {4}, {9}, {12}, 1'700'000'000'000'000,
                                                  {{wallet_chain::stacks, "SP2J6"}}, {3}, {90, 91}});
  event empty_deletion = filled_deletion;
  auto& od = std::get<owner_deleted>(empty_deletion.effects[0]);
  od.addresses.clear();
  od.groups.clear();
  od.payment_requests.clear();
  std::string empty_bytes = encode_event(empty_deletion);
  const std::string old_layout = empty_bytes.substr(0, empty_bytes.size() - 12);  // before the three lists

  event shorter = full_event();
  shorter.principal = "al";
  shorter.detail.clear();
  shorter.effects.resize(3);
  std::get<account_opened>(shorter.effects[1]).assets.clear();
  event system;
  system.seq = 2;
  system.effects.push_back(pending_closed{1, pending_resolution::expired, 0});

  const std::vector<std::pair<std::string, std::string>> sequence = {
      {"every effect", encode_event(full_event())},
      {"fewer effects, shorter strings and lists", encode_event(shorter)},
      {"every effect again", encode_event(full_event())},
      {"a system event", encode_event(system)},
      {"a deletion with its lists", encode_event(filled_deletion)},
      {"a deletion in the old layout", old_layout},
      {"every effect, last", encode_event(full_event())},
  };
  event reused;
  for (const auto& [what, bytes] : sequence) {
    INFO(what);
    event fresh;
    REQUIRE(decode_event(bytes, fresh).is_ok());
    REQUIRE(decode_event(bytes, reused).is_ok());
    CHECK(encode_event(reused) == encode_event(fresh));
  }
  // The old layout decoded over a deletion with lists leaves them empty.
  REQUIRE(decode_event(encode_event(filled_deletion), reused).is_ok());
  REQUIRE(decode_event(old_layout, reused).is_ok());
  CHECK(encode_event(reused) == empty_bytes);
}
