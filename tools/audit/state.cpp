// ledgerctl audit state and audit trial-balance: a past state, rebuilt from
// the newest retained snapshot at or before the point.
#include <map>

#include "engine/chain.h"
#include "schemas/event_json.h"
#include "schemas/time.h"
#include "tools/audit/commands.h"

namespace ledger::audit {

namespace {

using walk_fn = std::function<void(std::string_view, std::string_view)>;

// The target seq of a bound (a time resolved on a random-access source).
status target_seq(source& src, const fold_bound& b, std::uint64_t& out) {
  ledger_head h;
  if (auto s = src.head(h); !s) return s;
  out = std::min(h.seq, b.seq_max);
  if (b.log_ts_max_us != std::numeric_limits<std::int64_t>::max() && src.random_access()) {
    std::uint64_t t = 0;
    if (auto s = seq_at_or_before(src, b.log_ts_max_us, t); !s) return s;
    out = std::min(out, t);
  }
  return status::ok();
}

// The snapshot's head must be an event of this journal.
status check_snapshot(source& src, const store& snap, const std::string& dir) {
  std::vector<journal_entry> one;
  auto seq = snap.head().seq;
  if (auto s = src.read(seq, 1, one); !s) return s;
  if (one.empty() || one[0].seq != seq || one[0].chain != snap.head().chain)
    return status::corruption("seq " + std::to_string(seq) + ": snapshot " + dir + " does not belong to this journal");
  return status::ok();
}

status from_snapshot(source& src, const std::string& dir, const fold_bound& bound, progress& prog, state_report& r) {
  std::unique_ptr<store> snap;
  if (auto s = store::open_read_only(dir, snap); !s) return s;
  if (auto s = check_snapshot(src, *snap, dir); !s) return s;
  overlay_kv kv(*snap);
  ledger_state state(kv, [](std::uint64_t) { return std::nullopt; });
  if (auto s = snap->load(state); !s) return s;
  fold_result f;
  if (auto s = fold(src, state, snap->head(), bound, &prog, {}, f); !s) return s;
  r.snapshot_seq = snap->head().seq;
  r.events_folded = f.events;
  r.head = f.head;
  return summarize([&](const walk_fn& fn) { return kv.walk(fn); }, r.summary);
}

status from_scratch(source& src, const fold_bound& bound, progress& prog, state_report& r) {
  hash_kv kv;
  kv.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(bound.seq_max, 64'000'000)));
  ledger_state state(kv, [](std::uint64_t) { return std::nullopt; });
  fold_result f;
  if (auto s = fold(src, state, genesis_head(src), bound, &prog, {}, f); !s) return s;
  r.events_folded = f.events;
  r.head = f.head;
  return summarize([&](const walk_fn& fn) { return kv.walk(fn), status::ok(); }, r.summary);
}

void write_csv(const state_report& r, const std::optional<std::uint64_t>& wallet, std::string& o) {
  auto amount = [&](amount_t v, const std::string& asset) { return r.summary.major(v, asset); };
  o += "record,account,kind,owner,status,asset,posted,held,incoming,available,pending,pending_kind,debit_account,"
       "credit_account,amount,expires_at\r\n";
  for (const auto& b : r.summary.balances) {
    if (wallet && b.account != *wallet) continue;
    o += "balance," + std::to_string(b.account) + ',' + (b.kind == account_kind::system ? "system," : "user,");
    append_csv_field(o, b.owner);
    o += ',' + std::string(to_string(b.state)) + ',';
    append_csv_field(o, b.balance.asset);
    o += ',' + amount(b.balance.posted(), b.balance.asset) + ',' + amount(b.balance.debits_pending, b.balance.asset) + ',' +
         amount(b.balance.credits_pending, b.balance.asset) + ',' + amount(b.balance.available(), b.balance.asset) + ",,,,,,\r\n";
  }
  for (const auto& p : r.summary.open_holds) {
    if (wallet && p.debit_account != *wallet && p.credit_account != *wallet) continue;
    o += "hold,,,,,";
    append_csv_field(o, p.asset);
    o += ",,,,," + std::to_string(p.id) + ',' + (p.kind == pending_kind::hold ? "hold," : "withdrawal,") +
         std::to_string(p.debit_account) + ',' + std::to_string(p.credit_account) + ',' + amount(p.amount, p.asset) + ',' +
         (p.expires_at_us ? format_rfc3339_us(p.expires_at_us) : "") + "\r\n";
  }
}

void write_ndjson(const state_report& r, const std::optional<std::uint64_t>& wallet, std::string& o) {
  auto amount = [&](amount_t v, const std::string& asset) { return r.summary.major(v, asset); };
  o += "{\"record\":\"state\",\"seq\":" + std::to_string(r.head.seq) + ",\"log_time\":\"" +
       (r.head.seq ? format_rfc3339_us(r.head.log_ts_us) : "") + "\",\"chain\":\"" + to_hex(r.head.chain) +
       "\",\"state_digest\":\"" + to_hex(r.summary.digest) + "\"}\n";
  for (const auto& b : r.summary.balances) {
    if (wallet && b.account != *wallet) continue;
    o += "{\"record\":\"balance\",\"account\":" + std::to_string(b.account) + ",\"kind\":\"" +
         (b.kind == account_kind::system ? "system" : "user") + "\",\"owner\":\"";
    append_json_escaped(o, b.owner);
    o += "\",\"status\":\"" + std::string(to_string(b.state)) + "\",\"asset\":\"";
    append_json_escaped(o, b.balance.asset);
    o += "\",\"posted\":\"" + amount(b.balance.posted(), b.balance.asset) + "\",\"held\":\"" + amount(b.balance.debits_pending, b.balance.asset) +
         "\",\"incoming\":\"" + amount(b.balance.credits_pending, b.balance.asset) + "\",\"available\":\"" +
         amount(b.balance.available(), b.balance.asset) + "\"}\n";
  }
  for (const auto& p : r.summary.open_holds) {
    if (wallet && p.debit_account != *wallet && p.credit_account != *wallet) continue;
    o += "{\"record\":\"hold\",\"pending\":" + std::to_string(p.id) + ",\"kind\":\"" +
         (p.kind == pending_kind::hold ? "hold" : "withdrawal") + "\",\"debit_account\":" +
         std::to_string(p.debit_account) + ",\"credit_account\":" + std::to_string(p.credit_account) + ",\"asset\":\"";
    append_json_escaped(o, p.asset);
    o += "\",\"amount\":\"" + amount(p.amount, p.asset) + "\"";
    if (p.expires_at_us) o += ",\"expires_at\":\"" + format_rfc3339_us(p.expires_at_us) + "\"";
    o += "}\n";
  }
}

}  // namespace

status run_state(source& src, const state_options& o, state_report& r) {
  r = state_report{};
  fold_bound bound = o.bound;
  if (auto s = target_seq(src, o.bound, bound.seq_max); !s) return s;
  std::string snapshot_dir;
  if (o.use_snapshots)
    for (const auto& [seq, dir] : src.snapshots())
      if (seq <= bound.seq_max) snapshot_dir = dir;
  progress prog("audit state", 1, bound.seq_max);
  if (!o.progress_bar) prog.set_enabled(false);
  status s = snapshot_dir.empty() ? from_scratch(src, bound, prog, r) : from_snapshot(src, snapshot_dir, bound, prog, r);
  if (!s) return s;
  std::vector<checkpoint> cps;
  if (src.checkpoints(cps))
    for (const auto& c : cps)
      if (c.seq == r.head.seq) r.checkpoint_at_head = c;
  std::string text = "state at seq " + std::to_string(r.head.seq) + ", digest " + to_hex(r.summary.digest) + ", " +
                     (r.snapshot_seq ? "from snapshot seq " + std::to_string(r.snapshot_seq) : std::string("from seq 1"));
  if (r.checkpoint_at_head)
    text += r.checkpoint_at_head->state_digest == r.summary.digest ? ", equals the engine's checkpoint"
                                                                   : ", DIFFERS from the engine's checkpoint";
  prog.finish(text, r.events_folded);
  if (r.checkpoint_at_head && r.checkpoint_at_head->state_digest != r.summary.digest)
    return status::corruption("seq " + std::to_string(r.head.seq) + ": the rebuilt state digest differs from the checkpoint's");
  return status::ok();
}

std::string render_state(const state_report& r, const std::optional<std::uint64_t>& wallet, bool csv) {
  std::string o;
  if (csv) write_csv(r, wallet, o);
  else write_ndjson(r, wallet, o);
  return o;
}

void write_state(const state_report& r, const std::optional<std::uint64_t>& wallet, bool csv, std::FILE* out) {
  std::string o = render_state(r, wallet, csv);
  std::fwrite(o.data(), 1, o.size(), out);
  std::fflush(out);
}

std::vector<trial_row> trial_balance(const state_summary& s) {
  std::map<std::string, trial_row> by_asset;
  for (const auto& b : s.balances) {
    auto& t = by_asset[b.balance.asset];
    t.asset = b.balance.asset;
    t.posted_sum += b.balance.posted();
    t.pending_sum += b.balance.credits_pending - b.balance.debits_pending;
    t.accounts++;
  }
  std::vector<trial_row> out;
  for (auto& [_, t] : by_asset) out.push_back(t);
  return out;
}

}  // namespace ledger::audit
