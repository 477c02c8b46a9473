// Payout destinations (type codes 40-49): an owner's bank details for
// withdrawals, registered on a wallet. The sensitive fields arrive here
// already encrypted by the API (api/payout_keys.h: AES-256-GCM under the
// owner's data key, "enc1:" + base64), so the command log, the journal, the
// Kafka topics, the read models and exports hold only ciphertext; the engine
// refuses a field that does not have that form. Destroying the owner's data
// key (outside the journal) makes them unreadable without touching any
// event, so the hash chain still verifies.
#pragma once

#include <cstdint>
#include <string>

#include "schemas/command_type.h"

namespace ledger {

// A ciphertext field: "enc1:" + base64 of at most 512 plaintext bytes + 28.
inline constexpr std::size_t payout_ciphertext_bytes_max = 1024;
inline constexpr std::size_t payout_destinations_per_wallet_max = 16;

struct register_payout_destination_cmd {
  static constexpr command_type type = command_type::register_payout_destination;
  std::uint64_t wallet = 0;
  std::string owner;  // the wallet's owner, whose data key encrypted the fields
  std::string account_name;
  std::string bank_id;          // BIC, sort code or routing number
  std::string account_number;   // or IBAN
  std::string sender_details;   // optional ("" when absent)
  std::string receiver_details; // optional
  bool operator==(const register_payout_destination_cmd&) const = default;
};

}  // namespace ledger
