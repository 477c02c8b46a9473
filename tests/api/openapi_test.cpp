// Every route the server answers is in schemas/openapi.json, and every
// operation there is a route the server answers.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <set>

#include "api/service.h"

TEST_CASE("the OpenAPI document and the route table describe the same API") {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.load(LEDGER_OPENAPI_PATH).get(doc) == simdjson::SUCCESS);
  std::string_view version;
  REQUIRE(doc["openapi"].get(version) == simdjson::SUCCESS);
  CHECK(version.substr(0, 3) == "3.1");

  std::set<std::pair<std::string, std::string>> documented;
  simdjson::dom::object paths;
  REQUIRE(doc["paths"].get(paths) == simdjson::SUCCESS);
  for (auto [path, item] : paths) {
    simdjson::dom::object ops;
    REQUIRE(item.get(ops) == simdjson::SUCCESS);
    for (auto [method, op] : ops) {
      std::string m(method);
      if (m != "get" && m != "post" && m != "put" && m != "patch" && m != "delete") continue;  // e.g. "parameters"
      for (auto& ch : m) ch = static_cast<char>(ch - 'a' + 'A');
      documented.insert({m, std::string(path)});
    }
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& r : ledger::api::route_table()) served.insert({r.method, r.path});

  for (const auto& r : served) CHECK_MESSAGE(documented.count(r), r.first << " " << r.second << " is served but not documented");
  for (const auto& d : documented) CHECK_MESSAGE(served.count(d), d.first << " " << d.second << " is documented but not served");
  CHECK(served.size() >= 20);
}

TEST_CASE("every command type has a /v1/batch item schema, and every item schema is a command type") {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.load(LEDGER_OPENAPI_PATH).get(doc) == simdjson::SUCCESS);
  simdjson::dom::object mapping;
  REQUIRE(doc.at_pointer("/components/schemas/BatchCommand/discriminator/mapping").get(mapping) == simdjson::SUCCESS);
  std::set<std::string> documented;
  for (auto [type, ref] : mapping) {
    documented.insert(std::string(type));
    // The mapped schema exists and its "type" is that very command type.
    std::string_view target;
    REQUIRE(ref.get(target) == simdjson::SUCCESS);
    REQUIRE(target.substr(0, 1) == "#");
    std::string_view constant;
    CHECK_MESSAGE(doc.at_pointer(std::string(target.substr(1)) + "/properties/type/const").get(constant) == simdjson::SUCCESS,
                  target);
    CHECK(constant == type);
  }
  simdjson::dom::array one_of;
  REQUIRE(doc.at_pointer("/components/schemas/BatchCommand/oneOf").get(one_of) == simdjson::SUCCESS);
  CHECK(one_of.size() == documented.size());
  std::set<std::string> served;
  for (const auto& r : ledger::api::route_table())
    if (r.command) served.insert(r.name);
  for (const auto& t : served) CHECK_MESSAGE(documented.count(t), t << " is a command type without a batch item schema");
  for (const auto& t : documented) CHECK_MESSAGE(served.count(t), t << " has a batch item schema but is no command type");
  CHECK(served.count("set_fee_schedule") == 1);
}
