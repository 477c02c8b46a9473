// The binding rules of a service principal (api/service_binding.h).
#include <doctest/doctest.h>

#include "api/service_binding.h"

using namespace ledger::api;

namespace {

principal service(std::vector<std::string> providers, std::vector<std::uint64_t> accounts) {
  principal p{"svc", role::service, std::move(providers), std::move(accounts)};
  return p;
}

}  // namespace

TEST_CASE("service binding: deposits through bound providers only") {
  auto p = service({"stripe"}, {});
  CHECK_FALSE(check_deposit_binding(p, "stripe").has_value());
  auto r = check_deposit_binding(p, "paypal");
  REQUIRE(r.has_value());
  CHECK(r->field == "provider");
  CHECK(r->detail.find("paypal") != std::string::npos);
  CHECK(check_deposit_binding(service({}, {}), "stripe").has_value());
  // Admins are not bound.
  CHECK_FALSE(check_deposit_binding(principal{"root", role::admin, {}, {}}, "paypal").has_value());
}

TEST_CASE("service binding: holds, captures and settlements") {
  auto p = service({}, {4, 5});
  CHECK_FALSE(check_hold_binding(p, 4, 5).has_value());
  CHECK(check_hold_binding(p, 6, 5)->field == "wallet_id");
  CHECK(check_hold_binding(p, 4, 6)->field == "to_account_id");
  CHECK_FALSE(check_hold_use_binding(p, 4, 5, "hold_id").has_value());
  CHECK(check_hold_use_binding(p, 6, 5, "hold_id")->field == "hold_id");
  CHECK(check_hold_use_binding(p, 4, 6, "hold_id").has_value());
  CHECK_FALSE(check_withdrawal_binding(p, 4, 1, "withdrawal_id").has_value());
  CHECK(check_withdrawal_binding(p, 6, 1, "withdrawal_id").has_value());
  CHECK_FALSE(check_withdrawal_binding(service({}, {1}), 6, 1, "withdrawal_id").has_value());  // payouts bound
  CHECK_FALSE(check_hold_binding(principal{"alice", role::user, {}, {}}, 6, 7).has_value());
}
