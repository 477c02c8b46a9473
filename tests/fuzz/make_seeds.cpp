// Writes the checked-in seed corpus (tests/fuzz/corpus/<target>/) from the
// real encoders, so seeds start from valid records of every kind. Run by
// hand after a format change: build-fuzz/tests/fuzz/make_seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/state.h"
#include "engine/store.h"
#include "schemas/codec.h"

using namespace ledger;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::vector<command_body> bodies() {
  return {register_asset_cmd{"USD", 2, 1, amount_limit},
          open_account_cmd{account_kind::user, "alice", {{"USD", 100, 5000}, {"EUR", 0, 0}}},
          open_account_cmd{account_kind::system, "clearing:stripe", {}},
          deposit_cmd{4, "USD", 12345, "stripe", "ref", "{}"},
          withdraw_cmd{4, "USD", 77, "r", "m"},
          settle_withdrawal_cmd{9},
          fail_withdrawal_cmd{9, "no"},
          transfer_cmd{4, 5, "USD", 999, 3, "r", "m"},
          hold_cmd{4, 5, "USD", -amount_limit, 1'700'000'000'000'000, "r", "m"},
          capture_cmd{10, 5},
          void_hold_cmd{10},
          reverse_cmd{7, "dispute"},
          freeze_account_cmd{4},
          unfreeze_account_cmd{4},
          close_account_cmd{4},
          issue_challenge_cmd{wallet_chain::ethereum, "1", "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B", "app.example.com",
                              "https://app.example.com/login", "q7Zk2mX9vB4nR8tL1pW3aQ", 300},
          open_session_cmd{"q7Zk2mX9vB4nR8tL1pW3aQ", wallet_chain::solana, "F25s3DdjXdCxYBhh2z8FBusVEMT4b9bGNFVKJi3wFoF4",
                           "wallet:solana:F25s", std::string(32, 'h'), 86'400, "message", "signature"},
          revoke_session_cmd{12, "alice"},
          revoke_sessions_cmd{"", wallet_chain::stacks, "SP3JEA5ZE0YC4MG00SNXG1JYBAHCH3HA1RJZ4527Q"},
          link_wallet_cmd{wallet_chain::ethereum, "0xAb58", "alice"},
          unlink_wallet_cmd{wallet_chain::ethereum, "0xAb58"},
          set_fee_schedule_cmd{"USD", money_kind::payment, 30, 290, 50, 1000},
          remove_fee_schedule_cmd{"USD", money_kind::transfer},
          open_deposit_cmd{4, "USD", 500, "stripe", "pi_1", "top-up", "{}"},
          change_money_status_cmd{9, money_kind::payment, money_status::cancelled, "why"},
          pay_cmd{4, 5, "USD", 700, "order-1", "shoes", "{}"},
          refund_cmd{9, 100, "r-1", "half", "{}"},
          provider_payment_cmd{"stripe", "pi_1", money_status::completed, 4, "USD", 500, ""},
          provider_refund_cmd{"stripe", "pi_1", "ch_1:300", 300, true},
          record_auth_failure_cmd{wallet_chain::ethereum, "1", "0xAb58", "127.0.0.1", "signature_mismatch"},
          register_payout_destination_cmd{4, "alice", "enc1:QUJD", "enc1:REVG", "enc1:R0hJ", "", ""},
          export_documents_cmd{"alice", 3, 4096},
          delete_owner_cmd{"alice", {12, 13}}};
}

event sample_event(const command_body& b, std::uint64_t seq) {
  event e;
  e.seq = seq;
  e.log_ts_us = 1'700'000'000'000'000;
  e.input_pos = seq;
  e.principal = "p";
  e.idempotency_key = "k" + std::to_string(seq);
  e.body = encode_body(b);
  e.effects = {balance_changed{1, "USD", 5, 0, 0, 0, -5, 0, 0}, balance_changed{4, "USD", 0, 5, 0, 0, 5, 0, 0},
               daily_usage{4, "USD", 19000, 5}, pending_opened{seq, pending_kind::hold, 4, 5, "USD", 5, 99},
               pending_closed{seq, pending_resolution::captured, 5}, transaction_recorded{seq, tx_kind::reversal, 2},
               asset_registered{"USD", 2, 1, 100}, account_opened{6, account_kind::user, "bob", {{"USD", 0, 0}}},
               account_status_changed{6, account_status::active, account_status::frozen},
               challenge_issued{"q7Zk2mX9vB4nR8tL1pW3aQ", wallet_chain::ethereum, "1", "0xAb58", "a.example", "https://a.example", 1, 2},
               challenge_closed{"q7Zk2mX9vB4nR8tL1pW3aQ", challenge_resolution::expired},
               session_opened{seq, "alice", wallet_chain::stacks, "mainnet", "SP3J", std::string(32, 'h'), "q7Zk2mX9vB4nR8tL1pW3aQ", 9},
               session_closed{seq, session_resolution::revoked},
               wallet_connected{wallet_chain::solana, "F25s", "alice"},
               wallet_disconnected{wallet_chain::solana, "F25s", "alice"},
               fee_schedule_changed{"USD", money_kind::withdrawal, false, 30, 290, 50, 1000},
               money_tx_opened{seq, money_kind::refund, money_status::pending, 5, 4, "USD", 100, 0, "stripe", "r-1",
                               "alice", "half", "{}", 9},
               money_tx_changed{seq, money_kind::refund, money_status::pending, money_status::completed, "ok"},
               auth_failed{wallet_chain::ethereum, "1", "0xAb58", "127.0.0.1", "signature_mismatch"},
               payout_destination_registered{seq, 4, "alice", "enc1:QUJD", "enc1:REVG", "enc1:R0hJ", "", ""}};
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds CORPUS_DIR\n";
    return 2;
  }
  fs::path root = argv[1];
  int i = 0;
  std::vector<journal_entry> entries;
  for (const auto& b : bodies()) {
    auto n = std::to_string(i++);
    put(root / "fuzz_command", "body" + n, encode_body(b));
    put(root / "fuzz_command", "command" + n, encode_command(command{"p", "k" + n, "r", b}));
    auto e = sample_event(b, 100 + static_cast<std::uint64_t>(i));
    if (i % 3 == 0) e.effects.clear(), e.status = event_status::rejected, e.reason = reason::insufficient_funds;
    std::string bytes = encode_event(e);
    put(root / "fuzz_event", "event" + n, bytes);
    entries.push_back(journal_entry{101 + entries.size(), bytes, hash256{}});
  }
  for (auto& je : entries) je.event_bytes = encode_event(sample_event(bodies()[0], je.seq));
  put(root / "fuzz_journal", "batch_all", encode_journal_batch(101, entries));
  put(root / "fuzz_journal", "batch_one", encode_journal_batch(101, {entries.front()}));
  account_record acc{3, account_kind::system, account_status::active, "payouts", {}};
  for (int k = 0; k < 3; ++k) acc.balances.push_back(balance_record{"A" + std::to_string(k), 0, 0, 1, 2, 3, 4, 19000, 5});
  pending_record pend{7, pending_kind::hold, 4, 5, "USD", 50, 99, pending_resolution::open, 0};
  put(root / "fuzz_state", "asset", std::string(1, '\0') + encode(asset_record{"USD", 2, 1, amount_limit}));
  put(root / "fuzz_state", "account", std::string(1, '\1') + encode(acc));
  put(root / "fuzz_state", "pending", std::string(1, '\2') + encode(pend));
  pend.usage_counted = true;
  pend.usage_day = 19000;
  put(root / "fuzz_state", "pending_v2", std::string(1, '\2') + encode(pend));
  put(root / "fuzz_state", "idem", std::string(1, '\3') + encode(idem_record{hash256{}, 42}));
  put(root / "fuzz_state", "challenge",
      std::string(1, '\5') + encode(challenge_record{"q7Zk2mX9vB4nR8tL1pW3aQ", wallet_chain::ethereum, "1", "0xAb58",
                                                       "a.example", "https://a.example", 1, 2, 7}));
  put(root / "fuzz_state", "session",
      std::string(1, '\6') + encode(session_record{7, "alice", wallet_chain::solana, "F25s", std::string(32, 'h'),
                                                     "q7Zk2mX9vB4nR8tL1pW3aQ", 1, 2}));
  put(root / "fuzz_state", "connection", std::string(1, '\7') + encode(connection_record{wallet_chain::stacks, "SP3J", "alice"}));
  put(root / "fuzz_state", "fee_schedule",
      std::string(1, '\x08') + encode(fee_schedule_record{"USD", money_kind::payment, 30, 290, 50, 1000}));
  money_tx_record mt;
  mt.id = 9;
  mt.kind = money_kind::payment;
  mt.status = money_status::processing;
  mt.debit_account = 4;
  mt.credit_account = 5;
  mt.asset = "USD";
  mt.amount = 700;
  mt.fee = 50;
  mt.reference = "order-1";
  mt.owner = "alice";
  mt.refunded = 100;
  mt.opened_at_us = 1;
  put(root / "fuzz_state", "money_tx", std::string(1, '\x09') + encode(mt));
  put(root / "fuzz_state", "head", std::string(1, '\4') + encode_head(ledger_head{9, hash256{}, 123, 9}));
  checkpoint c{77, hash256{}, hash256{}};
  c.chain[0] = 1;
  std::string key = "c";
  put_key_u64(key, c.seq);
  put(root / "fuzz_checkpoint", "checkpoint", std::string(1, static_cast<char>(key.size())) + key + encode_checkpoint_value(c));
  return 0;
}
