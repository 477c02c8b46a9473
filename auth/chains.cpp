#include "auth/chains.h"

#include <cryptopp/keccak.h>
#include <cryptopp/ripemd.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <memory>

namespace ledger::auth {

namespace {

constexpr std::string_view base58_alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view c32_alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t encoded_bytes_max = 128;  // bounds the quadratic base conversions

const secp256k1_context* secp() {
  static const secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  return ctx;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> from_hex(std::string_view h) {
  if (h.substr(0, 2) == "0x" || h.substr(0, 2) == "0X") h.remove_prefix(2);
  if (h.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 2) {
    int hi = hex_value(h[i]), lo = hex_value(h[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string to_hex(std::string_view b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

std::string_view view(const bytes32& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Big-endian bytes in base `alphabet.size()`; one leading zero digit per
// leading zero byte (base58 and c32 both do this).
std::string encode_base(std::string_view bytes, std::string_view alphabet) {
  std::size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  std::string digits;  // little-endian digit values
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    unsigned carry = static_cast<unsigned char>(bytes[i]);
    for (auto& d : digits) {
      carry += static_cast<unsigned>(static_cast<unsigned char>(d)) << 8;
      d = static_cast<char>(carry % alphabet.size());
      carry /= static_cast<unsigned>(alphabet.size());
    }
    while (carry > 0) {
      digits.push_back(static_cast<char>(carry % alphabet.size()));
      carry /= static_cast<unsigned>(alphabet.size());
    }
  }
  std::string out(zeros, alphabet[0]);
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(alphabet[static_cast<unsigned char>(*it)]);
  return out;
}

std::optional<std::string> decode_base(std::string_view text, std::string_view alphabet) {
  if (text.size() > encoded_bytes_max * 2) return std::nullopt;
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == alphabet[0]) ++zeros;
  std::string bytes;  // little-endian
  for (std::size_t i = zeros; i < text.size(); ++i) {
    auto v = alphabet.find(text[i]);
    if (v == std::string_view::npos) return std::nullopt;
    unsigned carry = static_cast<unsigned>(v);
    for (auto& b : bytes) {
      carry += static_cast<unsigned>(static_cast<unsigned char>(b)) * static_cast<unsigned>(alphabet.size());
      b = static_cast<char>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<char>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::string out(zeros, '\0');
  out.append(bytes.rbegin(), bytes.rend());
  return out;
}

// Parses 65 bytes r||s||v into a recoverable signature, refusing high S.
std::optional<refusal> parse_recoverable(std::string_view sig, int recid, secp256k1_ecdsa_recoverable_signature& out) {
  const auto* rs = reinterpret_cast<const unsigned char*>(sig.data());
  secp256k1_ecdsa_signature plain;
  if (!secp256k1_ecdsa_signature_parse_compact(secp(), &plain, rs))
    return refusal{"malformed_signature", "signature", "r or s is out of range"};
  // normalize() answers 1 when it had to lower S: the signature was high-S,
  // the malleable twin EIP-2 (and Stacks) refuse.
  if (secp256k1_ecdsa_signature_normalize(secp(), nullptr, &plain))
    return refusal{"high_s_signature", "signature", "the signature's S is in the upper half of the curve order"};
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(secp(), &out, rs, recid))
    return refusal{"malformed_signature", "signature", "the recovery id is out of range"};
  return std::nullopt;
}

// The public key that signed `hash`, serialized (65 bytes uncompressed or 33 compressed).
std::variant<std::string, refusal> recover(const bytes32& hash, std::string_view sig, int recid, bool compressed) {
  secp256k1_ecdsa_recoverable_signature rsig;
  if (auto r = parse_recoverable(sig, recid, rsig)) return *r;
  secp256k1_pubkey pub;
  if (!secp256k1_ecdsa_recover(secp(), &pub, &rsig, hash.data()))
    return refusal{"signature_mismatch", "signature", "no public key recovers from this signature"};
  unsigned char out[65];
  std::size_t n = sizeof out;
  secp256k1_ec_pubkey_serialize(secp(), out, &n, &pub, compressed ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED);
  return std::string(reinterpret_cast<const char*>(out), n);
}

}  // namespace

bytes32 keccak256(std::string_view data) {
  bytes32 out;
  CryptoPP::Keccak_256 h;
  h.CalculateDigest(out.data(), reinterpret_cast<const CryptoPP::byte*>(data.data()), data.size());
  return out;
}

bytes32 sha256(std::string_view data) {
  bytes32 out;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

std::optional<std::string> eip55_address(std::string_view address) {
  if (address.size() != 42 || address.substr(0, 2) != "0x") return std::nullopt;
  std::string lower;
  bool has_lower = false, has_upper = false;
  for (char c : address.substr(2)) {
    if (hex_value(c) < 0) return std::nullopt;
    has_lower |= c >= 'a' && c <= 'f';
    has_upper |= c >= 'A' && c <= 'F';
    lower.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  auto h = keccak256(lower);
  std::string out = "0x";
  for (std::size_t i = 0; i < 40; ++i) {
    int nibble = (i % 2 == 0) ? h[i / 2] >> 4 : h[i / 2] & 15;
    char c = lower[i];
    out.push_back(c >= 'a' && nibble >= 8 ? static_cast<char>(c - 'a' + 'A') : c);
  }
  if (has_lower && has_upper && out != address) return std::nullopt;
  return out;
}

bytes32 eip191_hash(std::string_view message) {
  std::string data = "\x19" "Ethereum Signed Message:\n" + std::to_string(message.size());
  data.append(message);
  return keccak256(data);
}

std::variant<std::string, refusal> ethereum_signer(std::string_view message, std::string_view signature_hex) {
  auto sig = from_hex(signature_hex);
  if (!sig || sig->size() != 65)
    return refusal{"malformed_signature", "signature", "an Ethereum signature is 65 bytes of hex (r, s, v)"};
  int v = static_cast<unsigned char>((*sig)[64]);
  if (v >= 27) v -= 27;
  if (v != 0 && v != 1) return refusal{"malformed_signature", "signature", "v must be 27, 28, 0 or 1"};
  auto pub = recover(eip191_hash(message), std::string_view(*sig).substr(0, 64), v, false);
  if (auto* r = std::get_if<refusal>(&pub)) return *r;
  auto h = keccak256(std::string_view(std::get<std::string>(pub)).substr(1));
  auto address = eip55_address("0x" + to_hex(view(h).substr(12)));
  return *address;
}

std::string base58_encode(std::string_view bytes) { return encode_base(bytes, base58_alphabet); }
std::optional<std::string> base58_decode(std::string_view text) { return decode_base(text, base58_alphabet); }

std::optional<refusal> solana_verify(std::string_view address, std::string_view message, std::string_view signature) {
  auto key = base58_decode(address);
  if (!key || key->size() != 32) return refusal{"malformed_address", "address", "a Solana address is 32 bytes in base58"};
  auto sig = signature.substr(0, 2) == "0x" ? from_hex(signature) : base58_decode(signature);
  if (!sig || sig->size() != 64)
    return refusal{"malformed_signature", "signature", "an Ed25519 signature is 64 bytes in base58 (or 0x hex)"};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key->data()), 32),
      EVP_PKEY_free);
  if (!pkey) return refusal{"malformed_address", "address", "not an Ed25519 public key"};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  int ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  if (!ok) return refusal{"signature_mismatch", "signature", "the signature does not verify under this address's key"};
  return std::nullopt;
}

bytes32 stacks_message_hash(std::string_view message) {
  std::string data = "\x17Stacks Signed Message:\n";
  // Bitcoin-style variable-length integer (bounded by message_bytes_max, so at most 3 bytes).
  std::size_t n = message.size();
  if (n < 0xfd) {
    data.push_back(static_cast<char>(n));
  } else {
    data.push_back(static_cast<char>(0xfd));
    data.push_back(static_cast<char>(n & 0xff));
    data.push_back(static_cast<char>((n >> 8) & 0xff));
  }
  data.append(message);
  return sha256(data);
}

std::string c32_address(unsigned version, std::string_view hash160) {
  std::string versioned(1, static_cast<char>(version));
  versioned.append(hash160);
  auto check = sha256(view(sha256(versioned)));
  std::string payload(hash160);
  payload.append(view(check).substr(0, 4));
  return std::string("S") + c32_alphabet[version & 31] + encode_base(payload, c32_alphabet);
}

std::optional<unsigned> c32_address_version(std::string_view address) {
  if (address.size() < 3 || address.size() > 64 || address[0] != 'S') return std::nullopt;
  auto v = c32_alphabet.find(address[1]);
  auto payload = decode_base(address.substr(2), c32_alphabet);
  if (v == std::string_view::npos || !payload || payload->size() > 24) return std::nullopt;
  std::string hash = std::string(24 - payload->size(), '\0') + *payload;
  auto version = static_cast<unsigned>(v);
  if (c32_address(version, std::string_view(hash).substr(0, 20)) != address) return std::nullopt;
  return version;
}

std::variant<std::string, refusal> stacks_signer(std::string_view message, std::string_view signature_hex, unsigned version) {
  return stacks_hash_signer(stacks_message_hash(message), signature_hex, version);
}

std::variant<std::string, refusal> stacks_hash_signer(const bytes32& hash, std::string_view signature_hex, unsigned version) {
  auto sig = from_hex(signature_hex);
  if (!sig || sig->size() != 65)
    return refusal{"malformed_signature", "signature", "a Stacks signature is 65 bytes of hex (r, s, recovery id)"};
  int recid = static_cast<unsigned char>((*sig)[64]);
  if (recid > 3) return refusal{"malformed_signature", "signature", "the recovery id must be 0 to 3"};
  auto pub = recover(hash, std::string_view(*sig).substr(0, 64), recid, true);
  if (auto* r = std::get_if<refusal>(&pub)) return *r;
  auto h = sha256(std::get<std::string>(pub));
  unsigned char h160[CryptoPP::RIPEMD160::DIGESTSIZE];
  CryptoPP::RIPEMD160().CalculateDigest(h160, h.data(), h.size());
  return c32_address(version, std::string_view(reinterpret_cast<const char*>(h160), sizeof h160));
}

}  // namespace ledger::auth
