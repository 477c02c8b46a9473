// The pieces verify's checkpoint digests rest on: digest_builder's framing
// (buffered, yet the bytes hashed are exactly the length-framed pairs) and
// hash_kv's lazily kept key order across puts, deletes and revivals.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "engine/chain.h"
#include "tools/audit/replay.h"

namespace {

using namespace ledger;

std::string framed(std::string_view s) {
  std::string out;
  for (int i = 0; i < 4; ++i) out += static_cast<char>((s.size() >> (8 * i)) & 0xff);
  out.append(s);
  return out;
}

TEST_CASE("digest_builder hashes the length-framed pairs, across buffer flushes and large values") {
  std::mt19937_64 rng(7);
  std::string all;
  digest_builder d;
  for (int i = 0; i < 5000; ++i) {
    std::string k = "k" + std::to_string(rng());
    // Mostly small values, a few larger than the buffer.
    std::string v(i % 997 == 0 ? (64u << 10) + 5 : std::size_t(rng() % 300), char('a' + i % 26));
    d.add(k, v);
    all += framed(k) + framed(v);
  }
  CHECK(d.finish() == sha256(all));
  digest_builder empty;
  CHECK(empty.finish() == sha256(""));
}

TEST_CASE("hash_kv walks in key order after puts, deletes and revivals between walks") {
  audit::hash_kv kv;
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(11);
  MESSAGE("seed 11");
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 500; ++i) {
      // Keys and values short and long (past a small string's buffer).
      auto n = rng() % 3000;
      std::string k = "i" + std::to_string(n) + (n % 3 == 0 ? std::string(n % 40, 'k') : "");
      if (rng() % 4 == 0) {
        kv.del(k);
        model.erase(k);
      } else {
        std::string v = std::to_string(rng()) + std::string(rng() % 48, 'v');
        kv.put(k, v);
        model[k] = v;
      }
    }
    std::vector<std::pair<std::string, std::string>> walked;
    kv.walk([&](std::string_view k, std::string_view v) { walked.emplace_back(k, v); });
    REQUIRE(walked == std::vector<std::pair<std::string, std::string>>(model.begin(), model.end()));
    CHECK(kv.size() == model.size());
    for (const auto& [k, v] : model) CHECK(kv.get(k) == v);
  }
  CHECK(!kv.get("absent"));
  // An empty key and an empty value are records like any other.
  kv.put("", "");
  CHECK(kv.get("") == std::string());
  kv.del("");
  CHECK(!kv.get(""));
}

}  // namespace
