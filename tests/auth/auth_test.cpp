// Wallet sign-in verification against signatures made by the real wallet
// libraries (ethers v6, tweetnacl, @stacks/transactions, through
// tests/api/wallet_sign.js with the private key 0x11...11, compressed for
// Stacks), and the strict
// message grammar with every refusal it gives.
#include <doctest/doctest.h>

#include "auth/chains.h"
#include "auth/clarity.h"
#include "auth/verify.h"
#include "schemas/time.h"

namespace {

using namespace ledger;
using namespace ledger::auth;

const std::string eth_address = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A";
const std::string sol_address = "F25s3DdjXdCxYBhh2z8FBusVEMT4b9bGNFVKJi3wFoF4";
const std::string stx_address = "SP3Y74M5227FDVHREWPH773F5Y1W1ED8WXY3RAVG4";
const std::string stx_testnet = "ST3Y74M5227FDVHREWPH773F5Y1W1ED8WXXVB0G1S";

// Signatures of the challenge message below, by the key 0x11...11.
const std::string eth_sig =
    "0x7346f6cfdd643ea5852f801af775b769232bbce75ff6354b882f99abfd300a447635d4e8eab78e2c5d35fc89f286f326e6d5e52b719e1e97"
    "f3e3c0374badd5cf1c";
const std::string eth_sig_high_s =
    "0x7346f6cfdd643ea5852f801af775b769232bbce75ff6354b882f99abfd300a4489ca2b17154871d3a2ca03760d790cd7d3d8f7bb3daa81a3"
    "cbee9e5584886b721b";
const std::string eth_sig_other_key =
    "0xa8efb98af394be169fa33e3e66edde9d26a9ec9567129d79f9e705f0909ddc404ecf5655e91492d0ac48cd5b2a5f07124dd50102fc9e73e1"
    "ca19da1077fe6f3f1c";
const std::string sol_sig = "5forWpqruevdXuuoqWqESqk6opFqnDVDoXHqJmnAtJhKmQrfiTCZAK4ugVwj9KsfV4NFpPCKLsUjyPAVJgW5DpDs";
const std::string stx_sig =
    "a554140a8b0291c9aeb6333d13faae7539483652a581b1c7462c6b66ca423d7d6d8d92b14f707fda781efe46b1a33b233aa59917d1b9b8fb38"
    "514efb0cb649df01";

challenge_fields challenge(wallet_chain chain, std::string network, std::string address) {
  challenge_fields c;
  c.chain = chain;
  c.network = std::move(network);
  c.address = std::move(address);
  c.domain = "app.example.com";
  c.uri = "https://app.example.com/login";
  c.nonce = "q7Zk2mX9vB4nR8tL1pW";
  c.issued_at_us = *parse_rfc3339_us("2026-11-30T17:00:00.000456Z");
  c.expires_at_us = c.issued_at_us + 300'000'000;
  return c;
}

const std::int64_t now_us = *parse_rfc3339_us("2026-11-30T17:01:00Z");

std::string code(const std::optional<refusal>& r) { return r ? r->code : "ok"; }

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("auth: the challenge message is EIP-4361 text that parses back") {
  auto c = challenge(wallet_chain::ethereum, "1", eth_address);
  std::string m = challenge_message(c);
  CHECK(m ==
        "app.example.com wants you to sign in with your Ethereum account:\n"
        "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A\n\n"
        "Sign in to app.example.com with your wallet. This request will not trigger a transaction or cost any fees.\n\n"
        "URI: https://app.example.com/login\nVersion: 1\nChain ID: 1\nNonce: q7Zk2mX9vB4nR8tL1pW\n"
        "Issued At: 2026-11-30T17:00:00.000Z\nExpiration Time: 2026-11-30T17:05:00.000Z");
  auto parsed = parse_sign_in_message(m);
  REQUIRE(std::holds_alternative<sign_in_message>(parsed));
  CHECK(format_sign_in_message(std::get<sign_in_message>(parsed)) == m);
}

TEST_CASE("auth: signatures from ethers, tweetnacl and @stacks/transactions verify") {
  auto eth = challenge(wallet_chain::ethereum, "1", eth_address);
  CHECK(code(verify_sign_in(eth, challenge_message(eth), eth_sig, now_us)) == "ok");
  auto sol = challenge(wallet_chain::solana, "mainnet", sol_address);
  CHECK(code(verify_sign_in(sol, challenge_message(sol), sol_sig, now_us)) == "ok");
  auto stx = challenge(wallet_chain::stacks, "mainnet", stx_address);
  CHECK(code(verify_sign_in(stx, challenge_message(stx), stx_sig, now_us)) == "ok");
}

TEST_CASE("auth: signature refusals") {
  auto eth = challenge(wallet_chain::ethereum, "1", eth_address);
  auto m = challenge_message(eth);
  CHECK(code(verify_sign_in(eth, m, eth_sig_high_s, now_us)) == "high_s_signature");
  CHECK(code(verify_sign_in(eth, m, eth_sig_other_key, now_us)) == "signature_mismatch");
  CHECK(code(verify_sign_in(eth, m, eth_sig.substr(0, 60), now_us)) == "malformed_signature");
  CHECK(code(verify_sign_in(eth, m, eth_sig.substr(0, 130) + "05", now_us)) == "malformed_signature");
  auto sol = challenge(wallet_chain::solana, "mainnet", sol_address);
  std::string bad_sol = sol_sig;
  bad_sol[10] = bad_sol[10] == 'a' ? 'b' : 'a';
  CHECK(code(verify_sign_in(sol, challenge_message(sol), bad_sol, now_us)) == "signature_mismatch");
  CHECK(code(verify_sign_in(sol, challenge_message(sol), "0OIl", now_us)) == "malformed_signature");
  auto stx = challenge(wallet_chain::stacks, "mainnet", stx_address);
  // The Ethereum signature of another text recovers some other key.
  CHECK(code(verify_sign_in(stx, challenge_message(stx), eth_sig.substr(2, 128) + "00", now_us)) == "signature_mismatch");
}

TEST_CASE("auth: every field is checked against the challenge") {
  auto c = challenge(wallet_chain::ethereum, "1", eth_address);
  const std::string m = challenge_message(c);
  auto check = [&](const std::string& text) { return code(verify_sign_in(c, text, eth_sig, now_us)); };
  CHECK(check(replace(m, "app.example.com wants", "evil.example.com wants")) == "domain_mismatch");
  // A Cyrillic "а" (U+0430) in the domain: refused before any comparison.
  CHECK(check(replace(m, "app.example.com wants", "\xd0\xb0pp.example.com wants")) == "domain_not_ascii");
  CHECK(check(replace(m, "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A", "0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a")) ==
        "address_mismatch");
  CHECK(check(replace(m, "URI: https://app.example.com/login", "URI: https://app.example.com/other")) == "uri_mismatch");
  CHECK(check(replace(m, "Version: 1", "Version: 2")) == "version_unsupported");
  CHECK(check(replace(m, "Chain ID: 1", "Chain ID: 5")) == "chain_id_mismatch");
  CHECK(check(replace(m, "Nonce: q7Zk2mX9vB4nR8tL1pW", "Nonce: q7Zk2mX9vB4nR8tL1pX")) == "nonce_mismatch");
  CHECK(check(replace(m, "Issued At: 2026-11-30T17:00:00.000Z", "Issued At: 2026-11-30T17:00:01.000Z")) ==
        "issued_at_mismatch");
  CHECK(check(replace(m, "Expiration Time: 2026-11-30T17:05:00.000Z", "Expiration Time: 2026-11-30T18:05:00.000Z")) ==
        "expiration_mismatch");
  CHECK(check(replace(m, "\nExpiration Time: 2026-11-30T17:05:00.000Z", "")) == "expiration_mismatch");
  CHECK(check(replace(m, "Ethereum account", "Solana account")) == "chain_mismatch");
  CHECK(code(verify_sign_in(c, m, eth_sig, c.expires_at_us)) == "expired");
  CHECK(check(m + "\nNot Before: 2026-11-30T17:04:00.000Z") == "not_yet_valid");
  // A field that differs after signing: the signature no longer matches.
  auto shorter = replace(m, "Expiration Time: 2026-11-30T17:05:00.000Z", "Expiration Time: 2026-11-30T17:04:00.000Z");
  CHECK(check(shorter) == "signature_mismatch");
}

TEST_CASE("auth: the grammar is strict") {
  auto c = challenge(wallet_chain::ethereum, "1", eth_address);
  const std::string m = challenge_message(c);
  auto check = [&](const std::string& text) { return code(verify_sign_in(c, text, eth_sig, now_us)); };
  CHECK(check(m + "\n") == "malformed_message");
  CHECK(check(replace(m, "\n", "\r\n")) == "malformed_message");
  CHECK(check(replace(m, "Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1")) == "malformed_message");
  CHECK(check(replace(m, "Nonce: q7Zk2mX9vB4nR8tL1pW", "Nonce: short")) == "malformed_message");
  CHECK(check(replace(m, "Issued At: 2026-11-30T17:00:00.000Z", "Issued At: yesterday")) == "malformed_message");
  CHECK(check(replace(m, " wants you to sign in", " would like you to sign in")) == "malformed_message");
  CHECK(check(replace(m, "\nURI:", "\nColor: blue\nURI:")) == "malformed_message");
  CHECK(check(m + "\nVersion: 1") == "malformed_message");
  CHECK(check(m + "\nResources:") == "malformed_message");
  CHECK(check("") == "malformed_message");
  CHECK(check(std::string(5000, 'a')) == "malformed_message");
  auto with_resources = parse_sign_in_message(m + "\nRequest ID: r-1\nResources:\n- https://a.example/1\n- ipfs://x");
  REQUIRE(std::holds_alternative<sign_in_message>(with_resources));
  CHECK(std::get<sign_in_message>(with_resources).resources.size() == 2);
  CHECK(std::get<sign_in_message>(with_resources).request_id == "r-1");
}

TEST_CASE("auth: addresses") {
  CHECK(std::get<std::string>(canonical_address(wallet_chain::ethereum, "1", "0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a")) ==
        eth_address);
  CHECK(std::get<std::string>(canonical_address(wallet_chain::ethereum, "1", eth_address)) == eth_address);
  // Mixed case that is not the EIP-55 checksum.
  CHECK(std::holds_alternative<refusal>(
      canonical_address(wallet_chain::ethereum, "1", "0x19e7E376E7C213B7E7e7e46cc70A5dD086DAff2A")));
  CHECK(std::get<std::string>(canonical_address(wallet_chain::solana, "mainnet", sol_address)) == sol_address);
  CHECK(std::holds_alternative<refusal>(canonical_address(wallet_chain::solana, "mainnet", "1" + sol_address)));
  CHECK(std::get<std::string>(canonical_address(wallet_chain::stacks, "mainnet", stx_address)) == stx_address);
  CHECK(std::get<std::string>(canonical_address(wallet_chain::stacks, "testnet", stx_testnet)) == stx_testnet);
  CHECK(std::holds_alternative<refusal>(canonical_address(wallet_chain::stacks, "testnet", stx_address)));
  std::string bad = stx_address;
  bad[10] = bad[10] == 'A' ? 'B' : 'A';
  CHECK(std::holds_alternative<refusal>(canonical_address(wallet_chain::stacks, "mainnet", bad)));
  CHECK(code(check_network(wallet_chain::ethereum, "01")) == "invalid_network");
  CHECK(code(check_network(wallet_chain::ethereum, "137")) == "ok");
  CHECK(code(check_network(wallet_chain::solana, "mainnet-beta")) == "invalid_network");
}

TEST_CASE("auth: primitives against known vectors") {
  // Keccak-256("") and the EIP-55 examples from the EIP.
  CHECK(base58_encode(std::string(1, '\0') + "\x01") == "12");
  auto h = keccak256("");
  CHECK(static_cast<int>(h[0]) == 0xc5);
  CHECK(static_cast<int>(h[31]) == 0x70);
  CHECK(*eip55_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  CHECK(*eip55_address("0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359") == "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
  CHECK_FALSE(eip55_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae").has_value());
}

namespace {

// SIP-018 signatures of the Stacks mainnet challenge message by the key
// 0x11...11, made by @stacks/transactions signStructuredData (wallet_sign.js
// sip018): under the right domain, under the testnet chain-id, and under
// another domain name.
const std::string stx_sip018 =
    "04522db34a31d62268e77803252d298db5710e0ff08c20738f4f7eb5e4c92aa75634f3bfa52184f2e30b63504dcb2ad0c898a7f80b0520e8b2b4"
    "e73152d100d701";
const std::string stx_sip018_testnet_id =
    "ff499e5060cd1a5e02dd9e63b1104a729b968a66dacaabe0bcb9c8963a53a93435b02869dc9df5391dc86e4aba0da2d936bd76a701305cc6c020"
    "51db0abfd28c00";
const std::string stx_sip018_evil_domain =
    "14c14f3f99def7d08272e45c07660ddede9111b05b98ff2dc229436ac6a1aced2c3cb1e68619396969e6e0881d51ee412122e7ec475da1eaf203"
    "2bc2789f95a701";

std::string hex(std::string_view b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

}  // namespace

TEST_CASE("auth: Clarity serialization and the SIP-018 hash match @stacks/transactions") {
  // serializeCV(tupleCV({name, version, 'chain-id'})) and sha256(encodeStructuredData(...)) from the npm package.
  sip018_domain d{"app.example.com", "1", 2147483648ULL};
  CHECK(hex(serialize_domain(d)) ==
        "0c0000000308636861696e2d69640100000000000000000000000080000000046e616d650d0000000f6170702e6578616d706c652e636f"
        "6d0776657273696f6e0d0000000131");
  auto h = sip018_hash(d, "hello\nworld");
  CHECK(hex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())) ==
        "b4f904a3a0f1c563a314253ec3d1244a185709748f5348641db663be9e050b00");
  // Not ASCII: the message is a string-utf8 value.
  auto u = sip018_hash(d, "h\xc3\xa9llo");
  CHECK(hex(std::string_view(reinterpret_cast<const char*>(u.data()), u.size())) ==
        "8db841f0a6f0c0d587cf531ce34b7658c780c82d11de10bce2d13b396b836c22");
  CHECK(serialize_message("abc")[0] == static_cast<char>(clarity_string_ascii_type));
  CHECK(hex(clarity_uint(1)) == "0100000000000000000000000000000001");
}

TEST_CASE("auth: a Stacks sign-in signed as SIP-018 structured data") {
  auto stx = challenge(wallet_chain::stacks, "mainnet", stx_address);
  const std::string m = challenge_message(stx);
  auto want = expected_sip018_domain(stx);
  CHECK(want == sip018_domain{"app.example.com", "1", 1});
  CHECK(code(verify_sign_in(stx, m, stx_sip018, now_us, &want)) == "ok");
  // The structured signature is not a signed-message one, nor the reverse.
  CHECK(code(verify_sign_in(stx, m, stx_sip018, now_us)) == "signature_mismatch");
  CHECK(code(verify_sign_in(stx, m, stx_sig, now_us, &want)) == "signature_mismatch");
  // Another domain, version or chain-id named: refused by name.
  sip018_domain evil{"evil.example.com", "1", 1}, v2{"app.example.com", "2", 1}, testnet{"app.example.com", "1", 2147483648ULL};
  CHECK(code(verify_sign_in(stx, m, stx_sip018_evil_domain, now_us, &evil)) == "sip018_domain_mismatch");
  CHECK(code(verify_sign_in(stx, m, stx_sip018, now_us, &v2)) == "sip018_version_unsupported");
  CHECK(code(verify_sign_in(stx, m, stx_sip018_testnet_id, now_us, &testnet)) == "sip018_chain_id_mismatch");
  // The right domain named over a signature made under another: the key does not match.
  CHECK(code(verify_sign_in(stx, m, stx_sip018_testnet_id, now_us, &want)) == "signature_mismatch");
  CHECK(code(verify_sign_in(stx, m, stx_sip018_evil_domain, now_us, &want)) == "signature_mismatch");
  // Fields are still checked first; and SIP-018 is for Stacks only.
  CHECK(code(verify_sign_in(stx, replace(m, "Chain ID: 1", "Chain ID: 2147483648"), stx_sip018, now_us, &want)) ==
        "chain_id_mismatch");
  auto eth = challenge(wallet_chain::ethereum, "1", eth_address);
  CHECK(code(verify_sign_in(eth, challenge_message(eth), eth_sig, now_us, &want)) == "malformed_signature");
}
