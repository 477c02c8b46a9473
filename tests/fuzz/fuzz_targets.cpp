// libFuzzer targets for every decoder of untrusted bytes: commands (envelope
// and body), events, journal batch records, state records, the head and
// checkpoint records. Each decoder must refuse bad input with a status, never
// crash, hang or read out of bounds (the sanitizers check that), and what it
// accepts must be canonical: re-encoding gives back the very same bytes (a
// command body of an older layout version comes back at the newest).
//
// One source, one target per decoder: LEDGER_FUZZ_TARGET picks it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/state.h"
#include "engine/store.h"
#include "schemas/base.h"
#include "schemas/codec.h"
#include "schemas/commands.h"
#include "schemas/events.h"

namespace {

using namespace ledger;

void canonical(bool same, const char* what) { LEDGER_ASSERT(same, "%s", what); }

// A body of an older layout version (docs/engine.md, "encode_body") is
// written back at its type's newest version: re-encoding it is then a fixed
// point that keeps its value. At the newest version, the bytes come back as
// they were.
[[maybe_unused]] bool older_body(std::string_view in, std::string_view again, const command_body& b) {
  command_body b2;
  return in.size() > 2 && again.size() > 2 && static_cast<std::uint8_t>(in[2]) < static_cast<std::uint8_t>(again[2]) &&
         decode_body(again, b2).is_ok() && b2 == b && encode_body(b2) == again;
}

[[maybe_unused]] void fuzz_command(std::string_view in) {
  command c;
  if (decode_command(in, c).is_ok()) {
    // The body is the envelope's last field (u32 length, bytes): everything
    // before its length must come back as it was, and the body itself by
    // the rule of bodies below.
    auto again = encode_command(c);
    auto body = encode_body(c.body);
    std::size_t head = again.size() - body.size() - 4;
    canonical(again == in || (in.size() > head + 4 && in.substr(0, head) == again.substr(0, head) &&
                              older_body(in.substr(head + 4), body, c.body)),
              "command re-encodes differently");
  }
  command_body b;
  if (decode_body(in, b).is_ok()) {
    auto again = encode_body(b);
    canonical(again == in || older_body(in, again, b), "body re-encodes differently");
  }
}

[[maybe_unused]] void fuzz_event(std::string_view in) {
  event e;
  if (decode_event(in, e).is_ok()) canonical(encode_event(e) == in, "event re-encodes differently");
}

[[maybe_unused]] void fuzz_journal(std::string_view in) {
  std::vector<journal_entry> entries;
  if (!decode_journal_batch(in, entries).is_ok()) return;
  canonical(!entries.empty(), "a journal record decoded to no events");
  canonical(encode_journal_batch(entries.front().seq, entries) == in, "journal record re-encodes differently");
}

template <typename R>
[[maybe_unused]] void fuzz_record(std::string_view in) {
  R r;
  if (decode(in, r).is_ok()) canonical(encode(r) == in, "state record re-encodes differently");
}

[[maybe_unused]] void fuzz_state(std::string_view in) {
  if (in.empty()) return;
  // The first byte picks the record type, as the key prefix does in the store.
  auto body = in.substr(1);
  switch (static_cast<std::uint8_t>(in[0]) % 10) {
    case 0: fuzz_record<asset_record>(body); break;
    case 1: fuzz_record<account_record>(body); break;
    case 2: fuzz_record<pending_record>(body); break;
    case 3: fuzz_record<idem_record>(body); break;
    case 5: fuzz_record<challenge_record>(body); break;
    case 6: fuzz_record<session_record>(body); break;
    case 7: fuzz_record<connection_record>(body); break;
    case 8: fuzz_record<fee_schedule_record>(body); break;
    case 9: fuzz_record<money_tx_record>(body); break;
    default: {
      ledger_head h;
      if (decode_head(body, h).is_ok()) canonical(encode_head(h) == body, "head re-encodes differently");
    }
  }
}

[[maybe_unused]] void fuzz_checkpoint(std::string_view in) {
  // key length (1 byte), key, value.
  if (in.empty()) return;
  std::size_t n = static_cast<std::uint8_t>(in[0]);
  if (in.size() < 1 + n) return;
  auto key = in.substr(1, n), value = in.substr(1 + n);
  checkpoint c;
  if (decode_checkpoint(key, value, c).is_ok()) {
    canonical(encode_checkpoint_value(c) == value, "checkpoint re-encodes differently");
    canonical(key.size() == 9 && get_key_u64(key.substr(1)) == c.seq, "checkpoint key and seq differ");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  LEDGER_FUZZ_TARGET(in);
  return 0;
}
