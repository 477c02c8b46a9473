// Document exports and owner deletion through the real engine on RocksDB:
// one export per owner per hour of log time; a deletion refused while a
// wallet holds money or pending amounts, refused with a document list that
// is not the owner's, and otherwise closing wallets, revoking sessions and
// removing documents in one event; later commands for the owner refused;
// the state replays to the same digest (check_event accepts every event).
// A deletion also disconnects the owner's addresses, leaves its groups and
// closes its open payment requests (notes erased), and is refused when it
// would not fit one event.
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

const std::string address = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";
const std::string owner = "eth:" + address;  // the owner a wallet session of `address` gets

std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

upload_document_cmd upload(const std::string& who, char blob) {
  return upload_document_cmd{who, 0, document_category::passport, "enc1:QUJD", "application/pdf", 10,
                             std::string(64, 'c'), std::string(64, blob), "", "k1"};
}

std::uint64_t open_session(engine_harness& h, int i) {
  std::string nonce = "nonce" + std::string(12, 'a') + std::to_string(i);
  h.must(h.run(issue_challenge_cmd{wallet_chain::ethereum, "1", address, "app.example.com", "https://app.example.com/login",
                                   nonce, 300}));
  return h.must(h.run(open_session_cmd{nonce, wallet_chain::ethereum, address, owner, std::string(31, 't') + char('A' + i),
                                       3600, "signed message", "0xsig"}))
      .session_id;
}

std::optional<payment_request_record> stored_request(engine_harness& h, std::uint64_t id, bool open) {
  std::string v;
  auto key = open ? keys::open_payment_request(id) : keys::closed_payment_request(id);
  if (!h.eng().storage().read_state(key, v).is_ok()) return std::nullopt;
  payment_request_record r;
  REQUIRE(decode(v, r).is_ok());
  return r;
}

std::vector<std::string> stored_members(engine_harness& h, std::uint64_t group) {
  std::string v;
  std::vector<std::string> m;
  if (h.eng().storage().read_state(keys::group_members(group), v).is_ok()) REQUIRE(decode_group_members(v, m).is_ok());
  return m;
}

std::uint64_t request(engine_harness& h, const std::string& from, std::uint64_t wallet, const std::string& payer,
                      const std::string& note) {
  return h.must(h.run(create_payment_request_cmd{from, wallet, payer, "USD", 125, note, h.clock().now_us() + 3'600'000'000}))
      .payment_request_id;
}

const owner_deleted& deletion_of(engine_harness& h, std::uint64_t seq, event& e) {
  journal_entry je;
  REQUIRE(h.eng().storage().read_event(seq, je).is_ok());
  REQUIRE(decode_event(je.event_bytes, e).is_ok());
  REQUIRE(std::holds_alternative<owner_deleted>(e.effects.back()));
  return std::get<owner_deleted>(e.effects.back());
}

account_status status_of(engine_harness& h, std::uint64_t id) {
  std::string v;
  account_record r;
  REQUIRE(h.eng().storage().read_state(keys::account(id), v).is_ok());
  REQUIRE(decode(v, r).is_ok());
  return r.status;
}

}  // namespace

TEST_CASE("owners: one export per owner per hour of log time") {
  engine_harness h;
  auto first = h.must(h.run(export_documents_cmd{"alice", 2, 20}));
  CHECK(has_state_key(h, keys::owner_last_export("alice")));
  h.clock().set_us(first.log_ts_us + export_interval_us - 1);
  auto again = h.run(export_documents_cmd{"alice", 2, 20});
  CHECK(why(again) == "export_too_soon");
  CHECK(again.detail.find(std::to_string(first.log_ts_us)) != std::string::npos);
  // Another owner is not limited by alice's export.
  h.must(h.run(export_documents_cmd{"bob", 0, 0}));
  h.clock().set_us(first.log_ts_us + export_interval_us);
  h.must(h.run(export_documents_cmd{"alice", 3, 30}));
  CHECK(why(h.run(export_documents_cmd{"alice", 1, 1ull << 33})) == "invalid_argument");
  check_rebuild_digest(h);
}

TEST_CASE("owners: deletion refused while money, pending amounts or another list of documents remain") {
  engine_harness h;
  h.setup_basics();
  auto w = h.open_wallet(owner);
  auto other = h.open_wallet("bob");
  h.fund(w, 500);
  auto money = h.run(delete_owner_cmd{owner, {}});
  CHECK(why(money) == "balance_not_zero");
  CHECK(money.detail.find("wallet " + std::to_string(w)) != std::string::npos);
  // A hold keeps pending amounts even when the posted balance is moved out.
  auto hold = h.must(h.run(hold_cmd{w, other, "USD", 200, h.clock().now_us() + 3'600'000'000, "", ""}));
  h.must(h.run(transfer_cmd{w, other, "USD", 300, 0, "", ""}));
  auto held = h.run(delete_owner_cmd{owner, {}});
  CHECK(why(held) == "balance_not_zero");
  CHECK(held.detail.find("pending") != std::string::npos);
  h.must(h.run(void_hold_cmd{hold.pending_id}));
  h.must(h.run(transfer_cmd{w, other, "USD", 200, 0, "", ""}));
  // The document list must be exactly the owner's documents.
  auto d1 = h.must(h.run(upload(owner, 'a')));
  auto bobs = h.must(h.run(upload("bob", 'b')));
  CHECK(why(h.run(delete_owner_cmd{owner, {}})) == "invalid_state");
  CHECK(why(h.run(delete_owner_cmd{owner, {d1.seq, bobs.seq}})) == "invalid_state");
  CHECK(why(h.run(delete_owner_cmd{owner, {bobs.seq}})) == "invalid_state");
  CHECK(why(h.run(delete_owner_cmd{owner, {d1.seq, d1.seq}})) == "invalid_state");
  CHECK(status_of(h, w) == account_status::active);
  CHECK(has_state_key(h, keys::document(d1.seq)));
}

TEST_CASE("owners: a deletion closes wallets, revokes sessions, removes documents, and refuses the owner later") {
  engine_harness h;
  h.setup_basics();
  auto w1 = h.open_wallet(owner);
  auto w2 = h.open_wallet(owner);
  auto bob = h.open_wallet("bob");
  h.fund(w1, 700);
  auto wd = h.must(h.run(withdraw_cmd{w1, "USD", 700, "", ""}));  // money in and out
  auto s1 = open_session(h, 1);
  auto s2 = open_session(h, 2);
  auto d1 = h.must(h.run(upload(owner, 'a')));
  auto d2 = h.must(h.run(upload(owner, 'b')));
  auto kept = h.must(h.run(upload("bob", 'c')));
  h.must(h.run(export_documents_cmd{owner, 2, 20}));
  // The withdrawal is pending until settled.
  CHECK(why(h.run(delete_owner_cmd{owner, {d1.seq, d2.seq}})) == "balance_not_zero");
  h.must(h.run(settle_withdrawal_cmd{wd.pending_id}));

  auto del = h.must(h.run(delete_owner_cmd{owner, {d2.seq, d1.seq}}));
  CHECK(status_of(h, w1) == account_status::closed);
  CHECK(status_of(h, w2) == account_status::closed);
  CHECK(status_of(h, bob) == account_status::active);
  CHECK_FALSE(has_state_key(h, keys::session(s1)));
  CHECK_FALSE(has_state_key(h, keys::session(s2)));
  CHECK_FALSE(has_state_key(h, keys::document(d1.seq)));
  CHECK_FALSE(has_state_key(h, keys::owner_document(owner, d2.seq)));
  CHECK_FALSE(has_state_key(h, keys::owner_document_count(owner)));
  CHECK_FALSE(has_state_key(h, keys::owner_last_export(owner)));
  CHECK(has_state_key(h, keys::document(kept.seq)));
  CHECK(has_state_key(h, keys::deleted_owner(owner)));
  // The event lists what it closed, in the order of its effects.
  journal_entry je;
  REQUIRE(h.eng().storage().read_event(del.seq, je).is_ok());
  std::optional<event> e{event{}};
  REQUIRE(decode_event(je.event_bytes, *e).is_ok());
  REQUIRE(std::holds_alternative<owner_deleted>(e->effects.back()));
  const auto& od = std::get<owner_deleted>(e->effects.back());
  CHECK(od.wallets == std::vector<std::uint64_t>{w1, w2});
  CHECK(od.sessions == std::vector<std::uint64_t>{s1, s2});
  CHECK(od.documents == std::vector<std::uint64_t>{d1.seq, d2.seq});
  // The sessions' sign-in connected the address; the deletion disconnects it.
  CHECK(od.addresses == std::vector<owner_chain_address>{{wallet_chain::ethereum, address}});
  CHECK(e->effects.size() == 8);

  // Later commands naming the owner are refused; money history stays.
  CHECK(why(h.run(upload(owner, 'd'))) == "owner_deleted");
  CHECK(why(h.run(open_account_cmd{account_kind::user, owner, {{"USD", 0, 0}}})) == "owner_deleted");
  CHECK(why(h.run(export_documents_cmd{owner, 0, 0})) == "owner_deleted");
  CHECK(why(h.run(delete_owner_cmd{owner, {}})) == "owner_deleted");
  CHECK(why(h.run(deposit_cmd{w1, "USD", 5, "stripe", "", ""})) == "wallet_closed");
  CHECK(h.balance(w1, "USD").has_value());
  check_rebuild_digest(h);
}

TEST_CASE("owners: a deletion disconnects addresses, leaves groups and closes open payment requests") {
  engine_harness h;
  h.setup_basics();
  auto mine = h.open_wallet(owner);
  auto bobs = h.open_wallet("bob");
  auto carols = h.open_wallet("carol");
  open_session(h, 1);  // connects `address` to the owner
  const std::string sol = "So1anaAddr4f9Q";
  h.must(h.run(link_wallet_cmd{wallet_chain::solana, sol, owner}));
  h.must(h.run(link_wallet_cmd{wallet_chain::stacks, "SPBOB", "bob"}));
  h.must(h.run(set_group_members_cmd{7, {"bob", owner, "carol"}}));
  h.must(h.run(set_group_members_cmd{8, {owner}}));
  h.must(h.run(set_group_members_cmd{9, {"bob"}}));
  auto as_requester = request(h, owner, mine, "bob", "rent for flat 4B");
  auto as_payer = request(h, "bob", bobs, owner, "dinner at Mario's");
  auto others = request(h, "carol", carols, "bob", "taxi");
  // The indexes the deletion reads are rebuilt from the stored records at
  // open, as for a store written before they existed.
  h.reopen();

  auto del = h.must(h.run(delete_owner_cmd{owner, {}}));
  CHECK_FALSE(has_state_key(h, keys::connection(wallet_chain::ethereum, address)));
  CHECK_FALSE(has_state_key(h, keys::connection(wallet_chain::solana, sol)));
  CHECK(has_state_key(h, keys::connection(wallet_chain::stacks, "SPBOB")));
  CHECK(stored_members(h, 7) == std::vector<std::string>{"bob", "carol"});
  CHECK_FALSE(has_state_key(h, keys::group_members(8)));  // its only member left: dissolved
  CHECK(stored_members(h, 9) == std::vector<std::string>{"bob"});
  CHECK_FALSE(has_state_key(h, keys::member_group_count(owner)));
  CHECK(has_state_key(h, keys::member_group("bob", 7)));
  auto r1 = stored_request(h, as_requester, false);
  auto r2 = stored_request(h, as_payer, false);
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->status == payment_request_status::cancelled);
  CHECK(r2->status == payment_request_status::declined);
  CHECK(r1->note.empty());
  CHECK(r2->note.empty());
  CHECK(r2->amount == 125);  // money facts stay
  CHECK_FALSE(stored_request(h, as_requester, true));
  REQUIRE(stored_request(h, others, true));
  CHECK(stored_request(h, others, true)->note == "taxi");

  event e;
  const auto& od = deletion_of(h, del.seq, e);
  CHECK(od.addresses == std::vector<owner_chain_address>{{wallet_chain::ethereum, address}, {wallet_chain::solana, sol}});
  CHECK(od.groups == std::vector<std::uint64_t>{7, 8});
  CHECK(od.payment_requests == std::vector<std::uint64_t>{as_requester, as_payer});
  // 1 wallet, 1 session, 2 addresses, 2 groups, 2 requests, owner_deleted.
  CHECK(e.effects.size() == 9);

  // The addresses are free: someone else links them; the closed requests
  // answer as closed.
  h.must(h.run(link_wallet_cmd{wallet_chain::solana, sol, "carol"}));
  CHECK(why(h.run(pay_payment_request_cmd{as_payer, "bob", bobs, "USD", 0})) == "payment_request_declined");
  check_rebuild_digest(h);
  h.reopen();  // the in-memory indexes agree with the stored records after a restart
  CHECK(why(h.run(unlink_wallet_cmd{wallet_chain::ethereum, address})) == "unknown_connection");
  h.must(h.run(set_group_members_cmd{7, {"carol"}}));
  check_rebuild_digest(h);
}

TEST_CASE("owners: a deletion larger than one event is refused, naming the counts") {
  engine_harness h;
  std::vector<command> uploads;
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < owner_deletion_documents_max; ++i)
    uploads.push_back(command{"tester", "u" + std::to_string(i), "r" + std::to_string(i), upload(owner, 'a')});
  for (const auto& o : h.run_all(std::move(uploads))) ids.push_back(h.must(o).seq);
  h.must(h.run(link_wallet_cmd{wallet_chain::solana, "So1anaAddr4f9Q", owner}));
  // 4095 documents, one address and owner_deleted: 4097 effects.
  auto big = h.run(delete_owner_cmd{owner, ids});
  CHECK(why(big) == "deletion_too_large");
  CHECK(big.detail.find("4097") != std::string::npos);
  CHECK(big.detail.find("addresses 1") != std::string::npos);
  CHECK(big.detail.find("documents 4095") != std::string::npos);
  CHECK_FALSE(has_state_key(h, keys::deleted_owner(owner)));
  // One fewer item fits exactly: the event holds 4096 effects and decodes.
  h.must(h.run(unlink_wallet_cmd{wallet_chain::solana, "So1anaAddr4f9Q"}));
  auto del = h.must(h.run(delete_owner_cmd{owner, ids}));
  event e;
  CHECK(deletion_of(h, del.seq, e).documents.size() == owner_deletion_documents_max);
  CHECK(e.effects.size() == owner_deletion_effects_max);
  check_rebuild_digest(h);
}
