// Unit tests of the API's pure parts: log redaction and JSON request parsing.
#include <doctest/doctest.h>

#include "api/log.h"
#include "api/request_json.h"
#include "base/json_out.h"

using namespace ledger;
using namespace ledger::api;

TEST_CASE("redact removes personal data and secrets from log text") {
  CHECK(redact("owner alice@example.com opened") == "owner [email] opened");
  CHECK(redact("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer [redacted]");
  CHECK(redact("token eyJhbGciOi.eyJzdWIi.sig-nature") == "token [token]");
  CHECK(redact("call +44 20 7946 0958 now") == "call [phone] now");
  CHECK(redact("card 4111111111111111") == "card [phone]");
  CHECK(redact("iban GB33BUKB20201555555555 ok") == "iban [bank-account] ok");
  // Ordinary values are left alone: ids, amounts, routes, short numbers.
  CHECK(redact("wallet 12 moved 25.00 USD at seq 123456") == "wallet 12 moved 25.00 USD at seq 123456");
  CHECK(redact("/v1/wallets/42") == "/v1/wallets/42");
  CHECK(redact("") == "");
}

namespace {
std::optional<field_problem> read_deposit(std::string_view body, deposit_cmd& out) {
  simdjson::dom::object obj;
  if (auto p = parse_object(body, obj)) return p;
  field_reader r(obj);
  out.wallet = r.id("wallet_id");
  auto scales = [](std::string_view code) -> std::optional<int> {
    if (code == "USD") return 2;
    return std::nullopt;
  };
  int scale = r.asset("asset", scales, out.asset);
  out.amount = r.amount("amount", true, scale);
  return r.finish();
}
}  // namespace

TEST_CASE("request fields are refused precisely") {
  deposit_cmd d;
  CHECK_FALSE(read_deposit(R"({"wallet_id":7,"asset":"USD","amount":"12.50"})", d).has_value());
  CHECK(d.wallet == 7);
  CHECK(to_decimal(d.amount) == "1250");

  struct bad {
    const char* body;
    const char* field;
    const char* type;
    int status;
  } cases[] = {
      {R"({"wallet_id":7,"asset":"USD","amount":12.5})", "amount", "invalid-field", 400},
      {R"({"wallet_id":7,"asset":"USD","amount":"12.501"})", "amount", "invalid-field", 400},
      {R"({"wallet_id":7,"asset":"USD","amount":"-1.00"})", "amount", "invalid-field", 400},
      {R"({"wallet_id":7,"asset":"USD","amount":"0"})", "amount", "invalid-field", 400},
      {R"({"wallet_id":"7","asset":"USD","amount":"1"})", "wallet_id", "invalid-field", 400},
      {R"({"wallet_id":0,"asset":"USD","amount":"1"})", "wallet_id", "invalid-field", 400},
      {R"({"asset":"USD","amount":"1"})", "wallet_id", "invalid-field", 400},
      {R"({"wallet_id":7,"asset":"XYZ","amount":"1"})", "asset", "unknown-asset", 422},
      {R"({"wallet_id":7,"asset":"USD","amount":"1","extra":true})", "extra", "unknown-field", 400},
      {R"({"wallet_id":7,"wallet_id":8,"asset":"USD","amount":"1"})", "wallet_id", "invalid-field", 400},
      {R"({"wallet_id":7,)", "", "malformed-json", 400},
      {R"([1,2])", "", "malformed-json", 400},
      {"", "", "malformed-json", 400},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    deposit_cmd x;
    auto p = read_deposit(c.body, x);
    REQUIRE(p.has_value());
    CHECK(p->field == c.field);
    CHECK(p->type == c.type);
    CHECK(p->http_status == c.status);
  }
}

TEST_CASE("JSON nested deeper than the limit is refused") {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  simdjson::dom::object obj;
  auto p = parse_object(deep, obj);
  REQUIRE(p.has_value());
  CHECK(p->type == "malformed-json");
  CHECK(p->detail.find("nested") != std::string::npos);
}

// Found by fuzz_http: a raw byte in a request path went verbatim into a
// problem's "instance", making the body invalid JSON.
TEST_CASE("json_out writes bytes that are not UTF-8 as U+FFFD and keeps valid sequences") {
  auto quoted = [](std::string_view s) { return ledger::json_out().str(s).take(); };
  CHECK(quoted("/v1/d\x93posits") == "\"/v1/d\\ufffdposits\"");
  CHECK(quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(quoted("\xc3") == "\"\\ufffd\"");                      // truncated
  CHECK(quoted("\xc0\xaf") == "\"\\ufffd\\ufffd\"");            // overlong
  CHECK(quoted("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  CHECK(quoted("\xf4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // beyond U+10FFFF
}

// escape_into appends runs of plain ASCII at once: every kind of byte at the
// start, the middle and the end of a run, against a byte-at-a-time model.
TEST_CASE("json_out escapes the same whatever the runs of plain bytes around a special one") {
  auto model = [](std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20 || c == 0x7f) {
        static const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  };
  for (int c = 0; c < 0x80; ++c) {
    for (const std::string& s : {std::string(1, char(c)), "ab" + std::string(1, char(c)), std::string(1, char(c)) + "cd",
                                 "ab" + std::string(1, char(c)) + "cd" + std::string(1, char(c))}) {
      CAPTURE(c);
      std::string out = "[";
      ledger::json_out::escape_into(out, s);
      CHECK(out == "[" + model(s));
    }
  }
  std::string out;
  ledger::json_out::escape_into(out, "ok \xc3\xa9\"\x01x");
  CHECK(out == "ok \xc3\xa9\\\"\\u0001x");
}
