#include "engine/rebuild.h"

#include <map>

#include "engine/chain.h"

namespace ledger {

namespace {
constexpr std::size_t read_events_max = 4096;
}  // namespace

status check_event(const ledger_state& state, const event& e) {
  std::map<std::string, amount_t> posted, pending;
  std::uint64_t opened = 0;
  for (const auto& fx : e.effects) {
    if (auto* o = std::get_if<account_opened>(&fx)) {
      if (o->id != state.next_account_id()) return status::corruption("opens account " + std::to_string(o->id) + " out of order");
      opened = o->id;
    } else if (auto* b = std::get_if<balance_changed>(&fx)) {
      if (!state.account(b->account) && b->account != opened)
        return status::corruption("posts to unknown account " + std::to_string(b->account));
      // Checked: a forged event must not overflow the sums (each leg is
      // bounded by the decoder, their totals are not).
      amount_t dp = 0, dq = 0;
      if (!checked_sub(b->d_credits_posted, b->d_debits_posted, dp) ||
          !checked_add(posted[b->asset], dp, posted[b->asset]) ||
          !checked_sub(b->d_credits_pending, b->d_debits_pending, dq) ||
          !checked_add(pending[b->asset], dq, pending[b->asset]))
        return status::corruption("legs in " + b->asset + " overflow");
    }
  }
  for (const auto& [asset, sum] : posted)
    if (sum != 0) return status::corruption("posted legs in " + asset + " do not sum to zero");
  for (const auto& [asset, sum] : pending)
    if (sum != 0) return status::corruption("pending legs in " + asset + " do not sum to zero");
  return status::ok();
}

hash256 digest_of(const map_kv& kv) {
  digest_builder d;
  for (const auto& [k, v] : kv.entries()) d.add(k, v);
  return d.finish();
}

status rebuild(const journal_read_fn& read, const rebuild_bound& bound, rebuilt_state& out) {
  out.kv = std::make_unique<map_kv>();
  out.state = std::make_unique<ledger_state>(*out.kv, [read](std::uint64_t seq) -> std::optional<event> {
    std::vector<journal_entry> one;
    event e;
    if (!read(seq, 1, one) || one.empty() || one[0].seq != seq || !decode_event(one[0].event_bytes, e)) return std::nullopt;
    return e;
  });
  out.head = ledger_head{};
  out.events = 0;
  std::vector<journal_entry> batch;
  bool done = false;
  while (!done && out.head.seq < bound.seq_max) {
    if (auto s = read(out.head.seq + 1, read_events_max, batch); !s) return s;
    if (batch.empty()) break;
    for (auto& je : batch) {
      if (je.seq != out.head.seq + 1)
        return status::corruption("journal gap: expected seq " + std::to_string(out.head.seq + 1) + ", found " +
                                  std::to_string(je.seq));
      if (chain_next(out.head.chain, je.event_bytes) != je.chain)
        return status::corruption("chain hash mismatch at seq " + std::to_string(je.seq) +
                                  ": the event or its predecessor was altered");
      event e;
      if (auto s = decode_event(je.event_bytes, e); !s)
        return status::corruption("event " + std::to_string(je.seq) + ": " + s.message());
      if (e.seq != je.seq) return status::corruption("event " + std::to_string(je.seq) + " carries another seq");
      if (e.log_ts_us > bound.log_ts_max_us) {
        done = true;
        break;
      }
      if (auto st = check_event(*out.state, e); !st)
        return status::corruption("event " + std::to_string(je.seq) + ": " + st.message());
      out.state->apply(e);
      out.head = ledger_head{e.seq, je.chain, e.log_ts_us, e.input_pos};
      ++out.events;
      if (out.head.seq >= bound.seq_max) break;
    }
  }
  out.state->flush();
  out.digest = digest_of(*out.kv);
  return status::ok();
}

status rebuild(const store& s, const rebuild_bound& bound, rebuilt_state& out) {
  return rebuild([&](std::uint64_t from, std::size_t max, std::vector<journal_entry>& v) { return s.read_journal(from, max, v); },
                 bound, out);
}

}  // namespace ledger
