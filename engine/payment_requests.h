// The state of a payment request (engine/payment_requests.cpp). Open
// requests are hot: kept in memory for the expiry sweep and the per-requester
// bound, and loaded at start-up from their 'P' keys; closed ones are cold
// ('B' keys), read when a late command names them.
#pragma once

#include <cstdint>
#include <string>

#include "schemas/payment_request_commands.h"

namespace ledger {

struct payment_request_record {
  std::uint64_t id = 0;
  std::string requester;
  std::uint64_t wallet = 0;
  std::string payer;
  std::string asset;
  amount_t amount = 0;
  std::string note;
  std::int64_t expires_at_us = 0;
  std::int64_t opened_at_us = 0;
  payment_request_status status = payment_request_status::pending;
  std::int64_t closed_at_us = 0;
  std::uint64_t transaction_id = 0;  // paid: the transfer that paid it
  std::uint64_t payer_wallet = 0;    // paid: the wallet it was paid from
  std::string reason;                // declined or cancelled: the caller's words
};

}  // namespace ledger
