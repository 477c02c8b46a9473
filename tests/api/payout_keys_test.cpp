// Envelope encryption of payment details (api/payout_keys.h) on a real
// directory: round trips, masking, what binds a ciphertext (owner, record,
// field), tampering, rotation under a new master key, and crypto-shredding.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "api/payout_keys.h"
#include "tests/support/temp_dir.h"

using namespace ledger::api;

namespace {

master_key key_of(const std::string& id, char fill) { return master_key{id, std::string(32, fill)}; }

std::string file_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string decrypt_or_error(const payout_keys& k, const std::string& owner, const std::string& ct) {
  std::string out;
  auto e = k.decrypt(owner, "wallet:7", "account_number", ct, out);
  return e == key_error::none ? out : "error: " + std::string(to_string(e));
}

}  // namespace

TEST_CASE("payout keys: a field round trips, binds owner, record and field, and refuses tampering") {
  ledger::testing::temp_dir dir("payout-keys");
  payout_keys k({key_of("k1", 'a')}, dir.path().string());
  std::string ct;
  REQUIRE(k.encrypt("alice", "wallet:7", "account_number", "GB29NWBK60161331926819", ct) == key_error::none);
  CHECK(ct.rfind("enc1:", 0) == 0);
  CHECK(ct.find("GB29NWBK") == std::string::npos);
  CHECK(decrypt_or_error(k, "alice", ct) == "GB29NWBK60161331926819");
  // The same request encrypts to the same bytes (an idempotent retry); another plaintext does not.
  std::string again, other;
  REQUIRE(k.encrypt("alice", "wallet:7", "account_number", "GB29NWBK60161331926819", again) == key_error::none);
  REQUIRE(k.encrypt("alice", "wallet:7", "account_number", "GB29NWBK60161331926818", other) == key_error::none);
  CHECK(again == ct);
  CHECK(other.substr(5, 16) != ct.substr(5, 16));  // another nonce
  // Moved to another owner, record or field, it does not decrypt.
  CHECK(decrypt_or_error(k, "bob", ct).rfind("error", 0) == 0);
  std::string out;
  CHECK(k.decrypt("alice", "wallet:8", "account_number", ct, out) == key_error::corrupt);
  CHECK(k.decrypt("alice", "wallet:7", "bank_id", ct, out) == key_error::corrupt);
  std::string tampered = ct;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  CHECK(k.decrypt("alice", "wallet:7", "account_number", tampered, out) == key_error::corrupt);
  // The key file holds the wrapped key only.
  auto files = std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator());
  CHECK(files == 1);
  CHECK(mask_last4("GB29NWBK60161331926819") == "****6819");
  CHECK(mask_last4("abc") == "***");
}

TEST_CASE("payout keys: rotation re-wraps under the newest master key; details stay readable") {
  ledger::testing::temp_dir dir("payout-keys");
  std::string ct;
  {
    payout_keys k1({key_of("k1", 'a')}, dir.path().string());
    REQUIRE(k1.encrypt("alice", "wallet:7", "account_number", "12345678", ct) == key_error::none);
    std::string id;
    REQUIRE(k1.wrapping_key_id("alice", id) == key_error::none);
    CHECK(id == "k1");
  }
  payout_keys k12({key_of("k1", 'a'), key_of("k2", 'b')}, dir.path().string());
  rotate_report r;
  REQUIRE(k12.rotate(r) == key_error::none);
  CHECK(r.rewrapped == 1);
  REQUIRE(k12.rotate(r) == key_error::none);
  CHECK(r.rewrapped == 0);
  CHECK(r.current == 1);
  // Only the new master key is needed now; the old one alone no longer opens it.
  payout_keys k2({key_of("k2", 'b')}, dir.path().string());
  CHECK(decrypt_or_error(k2, "alice", ct) == "12345678");
  payout_keys k1_only({key_of("k1", 'a')}, dir.path().string());
  std::string out;
  CHECK(k1_only.decrypt("alice", "wallet:7", "account_number", ct, out) == key_error::unknown_master_key);
  // A master key with the right id but other bytes fails authentication.
  payout_keys wrong({key_of("k2", 'c')}, dir.path().string());
  CHECK(wrong.decrypt("alice", "wallet:7", "account_number", ct, out) == key_error::corrupt);
}

TEST_CASE("payout keys: destroying an owner's data key makes its details unreadable for good") {
  ledger::testing::temp_dir dir("payout-keys");
  payout_keys k({key_of("k1", 'a')}, dir.path().string());
  std::string alice_ct, bob_ct, out;
  REQUIRE(k.encrypt("alice", "wallet:7", "account_number", "12345678", alice_ct) == key_error::none);
  REQUIRE(k.encrypt("bob", "wallet:7", "account_number", "87654321", bob_ct) == key_error::none);
  bool destroyed = false;
  REQUIRE(k.destroy("alice", destroyed) == key_error::none);
  CHECK(destroyed);
  CHECK(k.decrypt("alice", "wallet:7", "account_number", alice_ct, out) == key_error::destroyed);
  // No new key for a shredded owner; others are untouched.
  CHECK(k.encrypt("alice", "wallet:7", "account_number", "1", out) == key_error::destroyed);
  CHECK(decrypt_or_error(k, "bob", bob_ct) == "87654321");
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    if (file_text(f.path()).find("destroyed") != std::string::npos) CHECK(file_text(f.path()) == "v1 destroyed\n");
  rotate_report r;
  REQUIRE(k.rotate(r) == key_error::none);
  CHECK(r.destroyed == 1);
}

TEST_CASE("payout keys: master key files") {
  ledger::testing::temp_dir dir("payout-keys");
  auto path = dir.path() / "k";
  std::ofstream(path) << std::string(64, 'f') << "\n";
  master_key m;
  CHECK_FALSE(load_master_key("k1," + path.string(), m).has_value());
  CHECK(m.key == std::string(32, '\xff'));
  CHECK(load_master_key("bad id," + path.string(), m).has_value());
  CHECK(load_master_key("k1", m).has_value());
  std::ofstream(path) << "short";
  CHECK(load_master_key("k1," + path.string(), m).has_value());
  payout_keys none({}, (dir.path() / "store").string());
  std::string out;
  CHECK(none.encrypt("alice", "c", "f", "x", out) == key_error::no_master_key);
}
