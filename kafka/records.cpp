#include "kafka/records.h"

#include "schemas/fields.h"

namespace ledger::kafka {

namespace {
constexpr std::uint8_t submission_version = 1;
// Version 2 carries every outcome field a route answers with (sessions,
// money transactions, payment requests, quotes); version 1 carried only the
// money ones, so those routes lost their ids in Kafka mode. 1 still decodes.
constexpr std::uint8_t reply_version = 2;
}  // namespace

std::string encode_submission(const std::vector<command>& commands) {
  std::string out;
  writer w(out);
  w.u8(submission_version);
  w.u32(static_cast<std::uint32_t>(commands.size()));
  for (const auto& c : commands) w.bytes(encode_command(c));
  return out;
}

status decode_submission(std::string_view bytes, std::vector<command>& out) {
  out.clear();
  reader r(bytes);
  auto version = r.u8();
  if (r.ok() && version != submission_version)
    return status::corruption("unknown submission version " + std::to_string(version));
  auto n = r.u32();
  if (!r.ok()) return status::corruption("submission truncated");
  if (n == 0 || n > submission_commands_max)
    return status::corruption("a submission holds 1 to " + std::to_string(submission_commands_max) + " commands, not " +
                              std::to_string(n));
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string one = r.bytes();
    if (!r.ok()) return status::corruption("submission truncated at command " + std::to_string(i));
    out.emplace_back();
    if (auto s = decode_command(one, out.back()); !s)
      return status::corruption("command " + std::to_string(i) + ": " + s.message());
  }
  if (!r.at_end()) return status::corruption("trailing bytes after the submission");
  return status::ok();
}

std::string encode_reply(const std::vector<outcome>& outcomes) {
  std::string out;
  writer w(out);
  encoder e{w};
  w.u8(reply_version);
  w.u32(static_cast<std::uint32_t>(outcomes.size()));
  for (const auto& o : outcomes) {
    w.u8(static_cast<std::uint8_t>(o.error.error_code()));
    w.bytes(o.error.message());
    e(o.replay);
    e(o.seq);
    e(o.log_ts_us);
    e(o.result);
    e(o.reason);
    e(o.detail);
    e(o.transaction_id);
    e(o.account_id);
    e(o.pending_id);
    e(o.balances);
    e(o.session_id);
    e(o.session_owner);
    e(o.session_expires_at_us);
    e(o.sessions_closed);
    e(o.money_tx_id);
    e(o.money_tx_kind);
    e(o.money_tx_status);
    e(o.payment_request_id);
    e(o.payment_request_status_after);
    e(o.quote.has_value());
    if (o.quote) e(*o.quote);
  }
  return out;
}

namespace {

void decode_v2_fields(decoder& d, outcome& o) {
  d(o.session_id);
  d(o.session_owner);
  d(o.session_expires_at_us);
  d(o.sessions_closed);
  d(o.money_tx_id);
  d(o.money_tx_kind);
  d(o.money_tx_status);
  d(o.payment_request_id);
  d(o.payment_request_status_after);
  bool has_quote = false;
  d(has_quote);
  if (has_quote) {
    o.quote.emplace();
    d(*o.quote);
  }
}

}  // namespace

status decode_reply(std::string_view bytes, std::vector<outcome>& out) {
  out.clear();
  reader r(bytes);
  decoder d{r};
  auto version = r.u8();
  if (r.ok() && version != reply_version && version != 1)
    return status::corruption("unknown reply version " + std::to_string(version));
  auto n = r.u32();
  if (!r.ok() || n > submission_commands_max) return status::corruption("reply truncated or too long");
  out.resize(n);
  for (auto& o : out) {
    auto code = r.u8();
    std::string message = r.bytes();
    if (code > static_cast<std::uint8_t>(status::code::unavailable)) r.fail();
    switch (static_cast<status::code>(code)) {
      case status::code::ok: break;
      case status::code::not_found: o.error = status::not_found(message); break;
      case status::code::corruption: o.error = status::corruption(message); break;
      case status::code::io_error: o.error = status::io_error(message); break;
      case status::code::invalid_argument: o.error = status::invalid_argument(message); break;
      case status::code::unavailable: o.error = status::unavailable(message); break;
    }
    d(o.replay);
    d(o.seq);
    d(o.log_ts_us);
    d(o.result);
    d(o.reason);
    d(o.detail);
    d(o.transaction_id);
    d(o.account_id);
    d(o.pending_id);
    d(o.balances);
    if (version >= 2) decode_v2_fields(d, o);
    if (!r.ok()) return status::corruption("reply truncated");
    if (o.result != event_status::accepted && o.result != event_status::rejected)
      return status::corruption("reply carries an unknown result");
  }
  if (!r.at_end()) return status::corruption("trailing bytes after the reply");
  return status::ok();
}

}  // namespace ledger::kafka
