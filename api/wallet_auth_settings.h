// Settings of wallet sign-in (api/routes_auth.cpp), with the defaults the
// wallet-sessions guide configures: challenges expire after 5 minutes;
// sessions last 24 hours unless the client asks for between 1 hour and 1
// year.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ledger::api {

struct wallet_auth_settings {
  std::int64_t challenge_ttl_s = 300;
  std::int64_t session_default_s = 86'400;
  std::int64_t session_min_s = 3'600;
  std::int64_t session_max_s = 365LL * 86'400;
  // Domains a challenge may name (exact, with any port); empty: any ASCII domain.
  std::vector<std::string> domains;

  // Checks bounds: ttl 1..86,400 s; 1 <= min <= default <= max <= 366 days.
  std::optional<std::string> validate() const {
    if (challenge_ttl_s < 1 || challenge_ttl_s > 86'400) return "challenge expiry must be 1 to 86400 s";
    if (session_min_s < 1 || session_min_s > session_default_s || session_default_s > session_max_s ||
        session_max_s > 366LL * 86'400)
      return "session durations must satisfy 1 <= min <= default <= max <= 31622400 s";
    return std::nullopt;
  }
};

}  // namespace ledger::api
