// JWT verification. The order of checks is deliberate: size first (before
// any work), then the shape of the token, then the header (to learn the
// algorithm), then the signature, and only then the payload, so that claims
// are never parsed from bytes an attacker could have chosen freely.
#include "api/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <shared_mutex>
#include <unordered_set>
#include <vector>

#include "schemas/base.h"

namespace ledger::api {
namespace {

// RFC 7518 3.2: a key shorter than the hash output weakens HS256.
constexpr std::size_t hs256_secret_bytes_min = 32;
constexpr std::size_t hs256_signature_bytes = 32;
// RFC 7518 3.4: ES256 signatures are R and S, 32 bytes each, concatenated.
constexpr std::size_t es256_scalar_bytes = 32;
constexpr std::size_t es256_signature_bytes = 2 * es256_scalar_bytes;
// Two DER INTEGERs of at most 33 bytes each inside a SEQUENCE; every length
// fits the one-byte short form.
constexpr std::size_t es256_der_bytes_max = 2 + 2 * (2 + es256_scalar_bytes + 1);
constexpr std::size_t subject_bytes_max = 128;
// Claims are flat; deeper nesting is only ever an attempt to burn stack.
constexpr std::size_t json_depth_max = 16;
constexpr std::int64_t leeway_s_max = 3600;
constexpr std::size_t token_bytes_limit = 65536;
constexpr std::size_t pem_bytes_max = 16384;

struct bio_free {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct md_free {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct mac_free {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
struct mac_ctx_free {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
struct ecdsa_sig_free {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ptr = std::unique_ptr<EVP_MD, md_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using mac_ptr = std::unique_ptr<EVP_MAC, mac_free>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_ctx_free>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, ecdsa_sig_free>;

enum class algorithm { hs256, es256 };

jwt_error refuse(const char* reason) { return jwt_error{reason}; }

// ---- base64url (RFC 4648 section 5, unpadded) ----

constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                   (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                   std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    for (int shift = 18; shift >= 0; shift -= 6) out += base64url_alphabet[(v >> shift) & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += base64url_alphabet[(v >> 18) & 63];
    out += base64url_alphabet[(v >> 12) & 63];
    if (rest == 2) out += base64url_alphabet[(v >> 6) & 63];
  }
  return out;
}

// Strict decoding: no padding, no whitespace, and the unused low bits of the
// last character must be zero. Without that last rule several encodings
// decode to the same bytes, which would let a "different" signature verify.
// The output keeps simdjson's padding in reserve so it can be parsed in place.
bool base64url_decode(std::string_view text, std::string& out) {
  if (text.size() % 4 == 1) return false;
  const std::size_t full = text.size() / 4;
  const std::size_t tail = text.size() % 4;
  const std::size_t size = full * 3 + (tail == 0 ? 0 : tail - 1);
  out.clear();
  out.reserve(size + simdjson::SIMDJSON_PADDING);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The bits left over are the ones no byte used; they must be zero.
  return (acc & ((1u << bits) - 1)) == 0;
}

// ---- token shape ----

struct token_parts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // "header.payload", the bytes that are signed
};

std::optional<token_parts> split_token(std::string_view token) {
  const std::size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  token_parts parts;
  parts.header = token.substr(0, first);
  parts.payload = token.substr(first + 1, second - first - 1);
  parts.signature = token.substr(second + 1);
  parts.signing_input = token.substr(0, second);
  return parts;
}

// ---- JSON ----

// One parser per thread: verify() is const and shared, and a parser reuses
// its buffers, which are bounded by the largest token this thread has seen.
simdjson::dom::parser make_parser() {
  simdjson::dom::parser parser;
  // If this allocation fails, parse() allocates on demand with simdjson's
  // default depth, and acceptable_json() still enforces json_depth_max.
  const auto error = parser.allocate(1024, json_depth_max);
  static_cast<void>(error);
  return parser;
}

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser = make_parser();
  return parser;
}

// RFC 7515 4 and RFC 7519 4 leave duplicate member names to the parser, and
// parsers disagree on which one wins; refusing them removes the ambiguity.
// Depth is bounded so the recursion is too.
bool acceptable_json(simdjson::dom::element value, std::size_t depth) {
  if (depth > json_depth_max) return false;
  if (simdjson::dom::object object; value.get_object().get(object) == simdjson::SUCCESS) {
    std::vector<std::string_view> keys;
    keys.reserve(object.size());
    for (const simdjson::dom::key_value_pair field : object) {
      if (!acceptable_json(field.value, depth + 1)) return false;
      keys.push_back(field.key);
    }
    std::sort(keys.begin(), keys.end());
    return std::adjacent_find(keys.begin(), keys.end()) == keys.end();
  }
  if (simdjson::dom::array array; value.get_array().get(array) == simdjson::SUCCESS) {
    for (const simdjson::dom::element item : array) {
      if (!acceptable_json(item, depth + 1)) return false;
    }
  }
  return true;
}

// Decodes one base64url part and parses it as a JSON object. `bytes` owns the
// decoded text and must outlive the returned object, as must the parser.
bool parse_json_object(simdjson::dom::parser& parser, std::string_view part, std::string& bytes,
                       simdjson::dom::object& out) {
  if (!base64url_decode(part, bytes)) return false;
  simdjson::dom::element root;
  // `bytes` has SIMDJSON_PADDING spare capacity, so no copy is made.
  if (parser.parse(bytes).get(root) != simdjson::SUCCESS) return false;
  if (root.get_object().get(out) != simdjson::SUCCESS) return false;
  return acceptable_json(root, 0);
}

bool equals_ignore_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

constexpr std::size_t kid_bytes_max = 128;
constexpr std::size_t keys_max = 64;
constexpr std::size_t denied_jti_max = 100'000;
constexpr std::int64_t max_token_age_s_min = 60;
constexpr std::int64_t max_token_age_s_max = 31 * 86'400;

bool acceptable_kid(std::string_view kid) {
  if (kid.empty() || kid.size() > kid_bytes_max) return false;
  for (unsigned char c : kid)
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

std::optional<jwt_error> read_header(simdjson::dom::parser& parser, std::string_view part, algorithm& out,
                                     std::string& kid) {
  std::string bytes;
  simdjson::dom::object header;
  if (!parse_json_object(parser, part, bytes, header)) return refuse("malformed token header");
  std::string_view alg;
  if (header["alg"].get_string().get(alg) != simdjson::SUCCESS) return refuse("unsupported algorithm");
  // Exact, case-sensitive names only (RFC 7518 3.1): anything else, "none"
  // in every spelling included, is refused.
  if (alg == "HS256") {
    out = algorithm::hs256;
  } else if (alg == "ES256") {
    out = algorithm::es256;
  } else {
    return refuse("unsupported algorithm");
  }
  if (auto k = header["kid"]; k.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view value;
    if (k.get_string().get(value) != simdjson::SUCCESS || !acceptable_kid(value)) return refuse("invalid kid");
    kid = std::string(value);
  }
  // RFC 7515 4.1.11: we understand no extensions, so any "crit" must fail.
  if (header["crit"].error() != simdjson::NO_SUCH_FIELD) return refuse("unsupported critical header");
  if (auto typ = header["typ"]; typ.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view value;
    if (typ.get_string().get(value) != simdjson::SUCCESS || !equals_ignore_ascii_case(value, "JWT")) {
      return refuse("unsupported token type");
    }
  }
  return std::nullopt;
}

// ---- signatures ----

bool hmac_sha256(EVP_MAC* mac, std::string_view key, std::string_view data,
                 std::array<unsigned char, hs256_signature_bytes>& out) {
  mac_ctx_ptr ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return false;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  // A null key means "keep the previous key" to EVP_MAC_init, so an empty
  // key still needs a real pointer.
  static const unsigned char empty_key = 0;
  const auto* key_bytes = key.empty() ? &empty_key : reinterpret_cast<const unsigned char*>(key.data());
  std::size_t written = 0;
  return EVP_MAC_init(ctx.get(), key_bytes, key.size(), params) == 1 &&
         EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
         EVP_MAC_final(ctx.get(), out.data(), &written, out.size()) == 1 && written == out.size();
}

// Appends one DER INTEGER holding the unsigned big-endian `scalar`: minimal
// length, with a 0x00 prefix when the top bit is set, as DER requires
// (OpenSSL refuses non-canonical encodings).
std::size_t append_der_integer(const unsigned char* scalar, unsigned char* out) {
  std::size_t skip = 0;
  while (skip + 1 < es256_scalar_bytes && scalar[skip] == 0) ++skip;
  const std::size_t length = es256_scalar_bytes - skip;
  const bool prefix = (scalar[skip] & 0x80) != 0;
  std::size_t at = 0;
  out[at++] = 0x02;
  out[at++] = static_cast<unsigned char>(length + (prefix ? 1 : 0));
  if (prefix) out[at++] = 0x00;
  std::memcpy(out + at, scalar + skip, length);
  return at + length;
}

// JOSE carries ECDSA signatures as raw R||S; OpenSSL wants DER.
std::size_t es256_raw_to_der(const unsigned char* raw, std::array<unsigned char, es256_der_bytes_max>& der) {
  std::size_t at = 2;
  at += append_der_integer(raw, der.data() + at);
  at += append_der_integer(raw + es256_scalar_bytes, der.data() + at);
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(at - 2);
  return at;
}

// A PEM loader must never fall back to prompting on the terminal for a
// passphrase; refusing one makes an encrypted key fail to load instead.
int no_passphrase(char*, int, int, void*) { return 0; }

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return false;
  std::array<char, 64> name{};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &length) != 1) return false;
  return OBJ_sn2nid(name.data()) == NID_X9_62_prime256v1;
}

std::optional<std::string> load_es256_public_key(std::string_view pem, pkey_ptr& out) {
  if (pem.size() > pem_bytes_max) return "jwt: ES256 public key PEM is too long";
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return "jwt: out of memory loading the ES256 public key";
  pkey_ptr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key) return "jwt: ES256 public key is not a PEM \"PUBLIC KEY\"";
  if (EVP_PKEY_is_a(key.get(), "EC") != 1) return "jwt: ES256 public key is not an EC key";
  if (!is_p256(key.get())) return "jwt: ES256 public key is not on curve P-256";
  out = std::move(key);
  return std::nullopt;
}

std::optional<std::string> check_config_bounds(const jwt_config& config) {
  if (config.issuer.empty()) return "jwt: issuer must be set";
  if (config.audience.empty()) return "jwt: audience must be set";
  if (config.leeway_s < 0 || config.leeway_s > leeway_s_max) return "jwt: leeway_s must be in [0, 3600]";
  if (config.token_bytes_max == 0 || config.token_bytes_max > token_bytes_limit) {
    return "jwt: token_bytes_max must be in [1, 65536]";
  }
  return std::nullopt;
}

// ---- claims ----

// Control characters in a subject end up in logs and audit records, where
// they could forge line breaks or terminal escapes. The JSON parser has
// already checked that the string is valid UTF-8, so C1 controls (U+0080 to
// U+009F) appear only as 0xC2 followed by 0x80..0x9F.
bool acceptable_subject(std::string_view subject) {
  if (subject.empty() || subject.size() > subject_bytes_max) return false;
  for (std::size_t i = 0; i < subject.size(); ++i) {
    const auto c = static_cast<unsigned char>(subject[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < subject.size() && static_cast<unsigned char>(subject[i + 1]) <= 0x9f) return false;
  }
  return true;
}

constexpr std::array<std::pair<std::string_view, role>, 4> role_names = {{
    {"user", role::user},
    {"service", role::service},
    {"admin", role::admin},
    {"auditor", role::auditor},
}};

std::optional<role> parse_role(std::string_view name) {
  for (const auto& [text, value] : role_names) {
    if (text == name) return value;
  }
  return std::nullopt;
}

enum class int_claim { absent, present, invalid };

// NumericDate must be an integer here: floats, strings and values beyond
// int64 are refused rather than rounded.
int_claim read_int_claim(simdjson::dom::object claims, std::string_view name, std::int64_t& out) {
  auto value = claims[name];
  if (value.error() == simdjson::NO_SUCH_FIELD) return int_claim::absent;
  simdjson::dom::element element;
  if (value.get(element) != simdjson::SUCCESS) return int_claim::invalid;
  // get_int64 refuses doubles (even 1.0) and strings with INCORRECT_TYPE and
  // integers above INT64_MAX with NUMBER_OUT_OF_RANGE.
  return element.get_int64().get(out) == simdjson::SUCCESS ? int_claim::present : int_claim::invalid;
}

// Times near the int64 limits must not wrap around into the past or future.
std::int64_t add_saturated(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

std::optional<jwt_error> check_times(simdjson::dom::object claims, std::int64_t now_s, std::int64_t leeway_s) {
  std::int64_t exp = 0;
  switch (read_int_claim(claims, "exp", exp)) {
    case int_claim::absent: return refuse("token has no expiry");
    case int_claim::invalid: return refuse("invalid exp claim");
    case int_claim::present: break;
  }
  if (now_s >= add_saturated(exp, leeway_s)) return refuse("token expired");
  std::int64_t nbf = 0;
  switch (read_int_claim(claims, "nbf", nbf)) {
    case int_claim::absent: break;
    case int_claim::invalid: return refuse("invalid nbf claim");
    case int_claim::present:
      if (now_s < add_saturated(nbf, -leeway_s)) return refuse("token not yet valid");
      break;
  }
  std::int64_t iat = 0;
  switch (read_int_claim(claims, "iat", iat)) {
    case int_claim::absent: break;
    case int_claim::invalid: return refuse("invalid iat claim");
    case int_claim::present:
      if (iat > add_saturated(now_s, leeway_s)) return refuse("token issued in the future");
      break;
  }
  return std::nullopt;
}

bool audience_matches(simdjson::dom::object claims, std::string_view audience) {
  auto aud = claims["aud"];
  std::string_view single;
  if (aud.get_string().get(single) == simdjson::SUCCESS) return single == audience;
  simdjson::dom::array list;
  if (aud.get_array().get(list) != simdjson::SUCCESS) return false;
  bool found = false;
  for (const simdjson::dom::element item : list) {
    std::string_view entry;
    // RFC 7519 4.1.3: an array of strings; anything else is malformed.
    if (item.get_string().get(entry) != simdjson::SUCCESS) return false;
    found = found || entry == audience;
  }
  return found;
}

}  // namespace

std::string_view to_string(role r) {
  for (const auto& [text, value] : role_names) {
    if (value == r) return text;
  }
  // Only a cast from an integer can get here: a programmer error.
  assert_fail("r is a named role", __FILE__, __LINE__, "role value out of range");
}

// ---- jwt_verifier ----

namespace {

struct verifying_key {
  std::string kid;  // empty: for tokens without a kid
  algorithm alg = algorithm::hs256;
  std::string secret;  // HS256
  pkey_ptr public_key;  // ES256
};

// Everything a verification reads; immutable once built, swapped whole by
// reload(). OpenSSL allows concurrent read-only use of keys and fetched
// algorithms, which is what makes verify() thread-safe.
struct keyring {
  std::vector<verifying_key> keys;
  mac_ptr hmac;   // set iff some key is HS256
  md_ptr sha256;  // set iff some key is ES256
  std::string issuer;
  std::string audience;
  std::int64_t leeway_s = 0;
  std::size_t token_bytes_max = 0;
  std::int64_t max_token_age_s = 0;
  std::unordered_set<std::string> denied_jti;

  const verifying_key* find(std::string_view kid, algorithm alg) const {
    for (const auto& k : keys)
      if (k.kid == kid && k.alg == alg) return &k;
    return nullptr;
  }
  bool has_kid(std::string_view kid) const {
    for (const auto& k : keys)
      if (k.kid == kid) return true;
    return false;
  }
};

std::optional<std::string> add_key(keyring& ring, const std::string& kid, const std::string& secret,
                                   const std::string& pem) {
  verifying_key k;
  k.kid = kid;
  std::string name = kid.empty() ? std::string("jwt") : "jwt key " + kid;
  if (!secret.empty()) {
    if (secret.size() < hs256_secret_bytes_min) return name + ": HS256 secret must be at least 32 bytes";
    k.alg = algorithm::hs256;
    k.secret = secret;
    if (!ring.hmac) ring.hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!ring.hmac) return "jwt: OpenSSL provides no HMAC";
  } else {
    k.alg = algorithm::es256;
    if (auto error = load_es256_public_key(pem, k.public_key)) return kid.empty() ? *error : name + ": " + *error;
    // Fetched once here rather than implicitly on every verification.
    if (!ring.sha256) ring.sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    if (!ring.sha256) return "jwt: OpenSSL provides no SHA-256";
  }
  ring.keys.push_back(std::move(k));
  return std::nullopt;
}

std::optional<std::string> build_keyring(const jwt_config& config, std::shared_ptr<const keyring>& out) {
  if (config.hs256_secret.empty() && config.es256_public_key_pem.empty() && config.keys.empty())
    return "jwt: no key configured (set an HS256 secret, an ES256 public key or a key file)";
  if (auto error = check_config_bounds(config)) return error;
  if (config.max_token_age_s < max_token_age_s_min || config.max_token_age_s > max_token_age_s_max)
    return "jwt: max_token_age_s must be in [60, 2678400]";
  if (config.keys.size() > keys_max) return "jwt: at most 64 keys";
  if (config.denied_jti.size() > denied_jti_max) return "jwt: at most 100000 denied token ids";
  auto ring = std::make_shared<keyring>();
  if (!config.hs256_secret.empty())
    if (auto e = add_key(*ring, "", config.hs256_secret, "")) return e;
  if (!config.es256_public_key_pem.empty())
    if (auto e = add_key(*ring, "", "", config.es256_public_key_pem)) return e;
  for (const auto& k : config.keys) {
    if (!acceptable_kid(k.kid)) return "jwt: a key id must be 1 to 128 printable characters without quotes";
    if (ring->has_kid(k.kid)) return "jwt: key id " + k.kid + " appears twice";
    if (k.hs256_secret.empty() == k.es256_public_key_pem.empty())
      return "jwt key " + k.kid + ": needs exactly one of an HS256 secret and an ES256 public key";
    if (auto e = add_key(*ring, k.kid, k.hs256_secret, k.es256_public_key_pem)) return e;
  }
  ring->issuer = config.issuer;
  ring->audience = config.audience;
  ring->leeway_s = config.leeway_s;
  ring->token_bytes_max = config.token_bytes_max;
  ring->max_token_age_s = config.max_token_age_s;
  ring->denied_jti.insert(config.denied_jti.begin(), config.denied_jti.end());
  out = std::move(ring);
  return std::nullopt;
}

std::optional<jwt_error> check_signature(const keyring& ring, algorithm alg, std::string_view kid,
                                         const token_parts& parts) {
  // Accepting only configured algorithms is what defeats key confusion: an
  // HS256 token "signed" with our public key never reaches a MAC, because
  // a key has one algorithm and a kid names one key.
  const verifying_key* key = ring.find(kid, alg);
  if (!key) return refuse(!kid.empty() && !ring.has_kid(kid) ? "unknown key id" : "unsupported algorithm");
  std::string signature;
  if (!base64url_decode(parts.signature, signature)) return refuse("malformed token signature");
  const auto* signature_bytes = reinterpret_cast<const unsigned char*>(signature.data());
  bool valid = false;
  if (alg == algorithm::hs256) {
    std::array<unsigned char, hs256_signature_bytes> expected{};
    valid = signature.size() == hs256_signature_bytes &&
            hmac_sha256(ring.hmac.get(), key->secret, parts.signing_input, expected) &&
            CRYPTO_memcmp(expected.data(), signature_bytes, expected.size()) == 0;
  } else if (signature.size() == es256_signature_bytes) {
    std::array<unsigned char, es256_der_bytes_max> der{};
    const std::size_t der_bytes = es256_raw_to_der(signature_bytes, der);
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    valid = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, ring.sha256.get(), nullptr, key->public_key.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), der.data(), der_bytes,
                             reinterpret_cast<const unsigned char*>(parts.signing_input.data()),
                             parts.signing_input.size()) == 1;
  }
  // A failed verification leaves entries on this thread's OpenSSL error
  // queue; clear them so they cannot be mistaken for a later failure.
  ERR_clear_error();
  if (!valid) return refuse("invalid signature");
  return std::nullopt;
}

// exp - iat (or exp - now without iat) beyond the maximum age is refused, so
// a leaked long-lived token cannot be minted even by a holder of the key.
std::optional<jwt_error> check_age(simdjson::dom::object claims, std::int64_t now_s, const keyring& ring) {
  std::int64_t exp = 0, iat = 0;
  if (read_int_claim(claims, "exp", exp) != int_claim::present) return refuse("token has no expiry");
  std::int64_t from = read_int_claim(claims, "iat", iat) == int_claim::present ? iat : now_s;
  std::int64_t life = 0;
  if (__builtin_sub_overflow(exp, from, &life) || life > add_saturated(ring.max_token_age_s, ring.leeway_s))
    return refuse("token lifetime exceeds the maximum");
  return std::nullopt;
}

constexpr std::size_t providers_max = 32;
constexpr std::size_t provider_bytes_max = 64;
constexpr std::size_t accounts_max = 1024;

// The service binding claims: "providers" (strings) and "accounts"
// (positive integers), both optional and bounded.
std::optional<jwt_error> read_bindings(simdjson::dom::object claims, principal& who) {
  if (auto p = claims["providers"]; p.error() != simdjson::NO_SUCH_FIELD) {
    simdjson::dom::array list;
    if (p.get_array().get(list) != simdjson::SUCCESS || list.size() > providers_max)
      return refuse("invalid providers claim");
    for (const simdjson::dom::element item : list) {
      std::string_view name;
      if (item.get_string().get(name) != simdjson::SUCCESS || name.empty() || name.size() > provider_bytes_max)
        return refuse("invalid providers claim");
      who.providers.emplace_back(name);
    }
  }
  if (auto a = claims["accounts"]; a.error() != simdjson::NO_SUCH_FIELD) {
    simdjson::dom::array list;
    if (a.get_array().get(list) != simdjson::SUCCESS || list.size() > accounts_max)
      return refuse("invalid accounts claim");
    for (const simdjson::dom::element item : list) {
      std::uint64_t id = 0;
      if (item.get_uint64().get(id) != simdjson::SUCCESS || id == 0) return refuse("invalid accounts claim");
      who.accounts.push_back(id);
    }
  }
  return std::nullopt;
}

std::variant<principal, jwt_error> read_claims(const keyring& ring, simdjson::dom::parser& parser,
                                               std::string_view part, std::int64_t now_s) {
  std::string bytes;
  simdjson::dom::object claims;
  if (!parse_json_object(parser, part, bytes, claims)) return refuse("malformed token payload");
  principal who;
  std::string_view subject;
  if (claims["sub"].get_string().get(subject) != simdjson::SUCCESS || !acceptable_subject(subject)) {
    return refuse("invalid sub claim");
  }
  if (auto role_claim = claims["role"]; role_claim.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view name;
    std::optional<role> parsed;
    if (role_claim.get_string().get(name) == simdjson::SUCCESS) parsed = parse_role(name);
    if (!parsed) return refuse("invalid role claim");
    who.role_ = *parsed;
  }
  std::string_view iss;
  if (claims["iss"].get_string().get(iss) != simdjson::SUCCESS || iss != ring.issuer) return refuse("wrong issuer");
  if (!audience_matches(claims, ring.audience)) return refuse("wrong audience");
  if (auto error = check_times(claims, now_s, ring.leeway_s)) return *error;
  if (auto error = check_age(claims, now_s, ring)) return *error;
  if (auto jti = claims["jti"]; jti.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view id;
    if (jti.get_string().get(id) != simdjson::SUCCESS) return refuse("invalid jti claim");
    if (ring.denied_jti.count(std::string(id))) return refuse("token revoked");
  }
  if (auto error = read_bindings(claims, who)) return *error;
  who.subject = std::string(subject);
  if (std::int64_t iat = 0; read_int_claim(claims, "iat", iat) == int_claim::present) who.issued_at_s = iat;
  return who;
}

}  // namespace

struct jwt_verifier::impl {
  mutable std::shared_mutex mu;
  std::shared_ptr<const keyring> ring;  // protected by mu

  std::shared_ptr<const keyring> current() const {
    std::shared_lock lock(mu);
    return ring;
  }
};

jwt_verifier::jwt_verifier(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

jwt_verifier::~jwt_verifier() = default;

std::optional<std::string> jwt_verifier::create(const jwt_config& config, std::unique_ptr<jwt_verifier>& out) {
  auto state = std::make_unique<impl>();
  if (auto error = build_keyring(config, state->ring)) return error;
  out.reset(new jwt_verifier(std::move(state)));
  return std::nullopt;
}

std::optional<std::string> jwt_verifier::reload(const jwt_config& config) {
  std::shared_ptr<const keyring> next;
  if (auto error = build_keyring(config, next)) return error;
  std::unique_lock lock(impl_->mu);
  impl_->ring = std::move(next);
  return std::nullopt;
}

std::variant<principal, jwt_error> jwt_verifier::verify(std::string_view token, std::int64_t now_s) const {
  const auto ring = impl_->current();
  if (token.size() > ring->token_bytes_max) return refuse("token too large");
  const auto parts = split_token(token);
  if (!parts) return refuse("malformed token");
  simdjson::dom::parser& parser = thread_parser();
  algorithm alg = algorithm::hs256;
  std::string kid;
  if (auto error = read_header(parser, parts->header, alg, kid)) return *error;
  if (auto error = check_signature(*ring, alg, kid, *parts)) return *error;
  return read_claims(*ring, parser, parts->payload, now_s);
}

// ---- signing, for dev tokens and tests ----

namespace {

std::string signing_input(std::string_view header_json, std::string_view payload_json) {
  return base64url_encode(header_json) + '.' + base64url_encode(payload_json);
}

// Converts OpenSSL's DER signature to JOSE's fixed-width R||S.
std::optional<std::string> es256_der_to_raw(const unsigned char* der, std::size_t der_bytes) {
  ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(der_bytes)));
  if (!sig) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::array<unsigned char, es256_signature_bytes> raw{};
  if (BN_bn2binpad(r, raw.data(), es256_scalar_bytes) != es256_scalar_bytes ||
      BN_bn2binpad(s, raw.data() + es256_scalar_bytes, es256_scalar_bytes) != es256_scalar_bytes) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
}

std::string pem_from_bio(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

namespace {

std::string make_header(std::string_view alg, std::string_view kid) {
  std::string h = R"({"alg":")" + std::string(alg) + R"(","typ":"JWT")";
  if (!kid.empty()) h += R"(,"kid":")" + std::string(kid) + "\"";
  return h + "}";
}

std::string hs256_sign(std::string_view secret, std::string_view header, std::string_view payload_json) {
  std::string token = signing_input(header, payload_json);
  mac_ptr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  std::array<unsigned char, hs256_signature_bytes> tag{};
  if (!mac || !hmac_sha256(mac.get(), secret, token, tag)) {
    ERR_clear_error();
    return {};
  }
  token += '.';
  token += base64url_encode(std::string_view(reinterpret_cast<const char*>(tag.data()), tag.size()));
  return token;
}

pkey_ptr read_p256_private(std::string_view private_key_pem) {
  if (private_key_pem.size() > pem_bytes_max) return nullptr;
  bio_ptr bio(BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  pkey_ptr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key || !is_p256(key.get())) return nullptr;
  return key;
}

std::optional<std::string> es256_sign(std::string_view private_key_pem, std::string_view header,
                                      std::string_view payload_json) {
  pkey_ptr key = read_p256_private(private_key_pem);
  if (!key) return std::nullopt;
  std::string token = signing_input(header, payload_json);
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, es256_der_bytes_max> der{};
  std::size_t der_bytes = der.size();
  const bool signed_ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
                         EVP_DigestSign(ctx.get(), der.data(), &der_bytes,
                                        reinterpret_cast<const unsigned char*>(token.data()), token.size()) == 1;
  auto raw = signed_ok ? es256_der_to_raw(der.data(), der_bytes) : std::nullopt;
  ERR_clear_error();
  if (!raw) return std::nullopt;
  token += '.';
  token += base64url_encode(*raw);
  return token;
}

}  // namespace

std::string sign_hs256(std::string_view secret, std::string_view payload_json) {
  return hs256_sign(secret, make_header("HS256", ""), payload_json);
}

std::string sign_hs256(std::string_view secret, std::string_view payload_json, std::string_view kid) {
  return hs256_sign(secret, make_header("HS256", kid), payload_json);
}

std::optional<std::string> sign_es256(std::string_view private_key_pem, std::string_view payload_json) {
  return es256_sign(private_key_pem, make_header("ES256", ""), payload_json);
}

std::optional<std::string> sign_es256(std::string_view private_key_pem, std::string_view payload_json,
                                      std::string_view kid) {
  return es256_sign(private_key_pem, make_header("ES256", kid), payload_json);
}

// ---- JWK Sets ----

namespace {

constexpr std::size_t jwks_bytes_max = 1 << 20;

struct pkey_ctx_free {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};

// A P-256 public key from its JWK coordinates, as PEM.
std::optional<std::string> ec_pem_from_xy(const std::string& x, const std::string& y) {
  if (x.size() != es256_scalar_bytes || y.size() != es256_scalar_bytes) return std::nullopt;
  std::string point = "\x04" + x + y;
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
            EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1;
  pkey_ptr key(raw);
  bio_ptr bio(BIO_new(BIO_s_mem()));
  ok = ok && bio && PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1;
  ERR_clear_error();
  if (!ok) return std::nullopt;
  return pem_from_bio(bio.get());
}

std::optional<std::string> read_jwk(simdjson::dom::object o, std::size_t index, jwt_key& out) {
  std::string at = "key file: key " + std::to_string(index);
  std::string_view kty, kid, alg, use;
  if (o["kid"].get_string().get(kid) != simdjson::SUCCESS || !acceptable_kid(kid))
    return at + ": \"kid\" must be 1 to 128 printable characters";
  out.kid = std::string(kid);
  at = "key file: key " + out.kid;
  if (o["kty"].get_string().get(kty) != simdjson::SUCCESS) return at + ": \"kty\" is required";
  bool has_alg = o["alg"].get_string().get(alg) == simdjson::SUCCESS;
  if (o["use"].get_string().get(use) == simdjson::SUCCESS && use != "sig") return at + ": \"use\" must be sig";
  auto bytes = [&](const char* name, std::string& v) {
    std::string_view text;
    return o[name].get_string().get(text) == simdjson::SUCCESS && base64url_decode(text, v);
  };
  if (kty == "oct") {
    if (has_alg && alg != "HS256") return at + ": an oct key must be HS256";
    if (!bytes("k", out.hs256_secret)) return at + ": \"k\" must be base64url";
    if (out.hs256_secret.size() < hs256_secret_bytes_min) return at + ": an HS256 key must be at least 32 bytes";
    return std::nullopt;
  }
  if (kty == "EC") {
    std::string_view crv;
    if (has_alg && alg != "ES256") return at + ": an EC key must be ES256";
    if (o["crv"].get_string().get(crv) != simdjson::SUCCESS || crv != "P-256") return at + ": \"crv\" must be P-256";
    std::string x, y;
    if (!bytes("x", x) || !bytes("y", y)) return at + ": \"x\" and \"y\" must be base64url";
    auto pem = ec_pem_from_xy(x, y);
    if (!pem) return at + ": not a point on P-256";
    out.es256_public_key_pem = *pem;
    return std::nullopt;
  }
  return at + ": \"kty\" must be oct or EC";
}

}  // namespace

std::optional<std::string> parse_jwks(std::string_view json, std::vector<jwt_key>& out) {
  if (json.size() > jwks_bytes_max) return "key file: larger than 1 MiB";
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array keys;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS || !acceptable_json(root, 0))
    return "key file: not valid JSON (or duplicate members)";
  if (root["keys"].get_array().get(keys) != simdjson::SUCCESS) return "key file: needs a \"keys\" array";
  if (keys.size() > keys_max) return "key file: at most 64 keys";
  std::vector<jwt_key> result;
  std::size_t i = 0;
  for (const simdjson::dom::element item : keys) {
    simdjson::dom::object o;
    if (item.get_object().get(o) != simdjson::SUCCESS) return "key file: key " + std::to_string(i) + " is not an object";
    jwt_key k;
    if (auto error = read_jwk(o, i++, k)) return error;
    result.push_back(std::move(k));
  }
  out = std::move(result);
  return std::nullopt;
}

std::optional<std::string> es256_public_jwk(std::string_view pem, std::string_view kid) {
  pkey_ptr key = read_p256_private(pem);
  if (!key) {
    if (load_es256_public_key(pem, key)) return std::nullopt;
  }
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  std::array<unsigned char, 2 * es256_scalar_bytes> xy{};
  bool ok = EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
            EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
            BN_bn2binpad(x, xy.data(), es256_scalar_bytes) == es256_scalar_bytes &&
            BN_bn2binpad(y, xy.data() + es256_scalar_bytes, es256_scalar_bytes) == es256_scalar_bytes;
  BN_free(x);
  BN_free(y);
  ERR_clear_error();
  if (!ok) return std::nullopt;
  auto part = [&](std::size_t at) {
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(xy.data() + at), es256_scalar_bytes));
  };
  return R"({"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid":")" + std::string(kid) + R"(","x":")" +
         part(0) + R"(","y":")" + part(es256_scalar_bytes) + R"("})";
}

std::pair<std::string, std::string> generate_es256_keypair() {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  bio_ptr private_bio(BIO_new(BIO_s_mem()));
  bio_ptr public_bio(BIO_new(BIO_s_mem()));
  const bool written = key && private_bio && public_bio &&
                       PEM_write_bio_PrivateKey(private_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                                nullptr) == 1 &&
                       PEM_write_bio_PUBKEY(public_bio.get(), key.get()) == 1;
  ERR_clear_error();
  if (!written) return {};
  return {pem_from_bio(private_bio.get()), pem_from_bio(public_bio.get())};
}

}  // namespace ledger::api
