// Record values of the commands and replies topics (documented for outside
// producers in schemas/kafka_records.md). Both start with a version byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/outcome.h"
#include "schemas/commands.h"

namespace ledger::kafka {

// The most commands one record may carry (a submission is applied within
// one engine batch, and a position is offset * position_stride + index + 1).
inline constexpr std::size_t submission_commands_max = 8192;
inline constexpr std::uint64_t position_stride = 1u << 14;
static_assert(submission_commands_max < position_stride);

// Command log positions of a Kafka log: offset-major, so the engine's head
// (the last position it applied) names the record to resume after.
inline std::uint64_t position_of(std::int64_t offset, std::size_t index) {
  return static_cast<std::uint64_t>(offset) * position_stride + index + 1;
}
// The offset of the record holding `position` (position > 0).
inline std::int64_t offset_of(std::uint64_t position) { return static_cast<std::int64_t>((position - 1) / position_stride); }

// Record header names.
inline constexpr const char* header_reply_to = "reply-to";  // commands: the API instance id
inline constexpr const char* header_corr = "corr";          // commands, replies: 8-byte big-endian
inline constexpr const char* header_claim = "claim";        // commands: an engine's claim of the ledger

std::string encode_submission(const std::vector<command>& commands);
status decode_submission(std::string_view bytes, std::vector<command>& out);

// One outcome per command of the record, in order.
std::string encode_reply(const std::vector<outcome>& outcomes);
status decode_reply(std::string_view bytes, std::vector<outcome>& out);

}  // namespace ledger::kafka
