// ledgerctl events: filter and render the journal for analysts.
#include <algorithm>
#include <cerrno>

#include "schemas/event_json.h"
#include "tools/audit/commands.h"

namespace ledger::audit {

namespace {

constexpr int follow_wait_ms = 500;

bool matches(const event& e, const events_options& o) {
  if (!o.types.empty() && std::find(o.types.begin(), o.types.end(), event_type_name(e)) == o.types.end()) return false;
  if (!o.wallets.empty()) {
    auto ids = event_accounts(e);
    if (std::none_of(ids.begin(), ids.end(), [&](std::uint64_t id) {
          return std::find(o.wallets.begin(), o.wallets.end(), id) != o.wallets.end();
        }))
      return false;
  }
  if (!o.assets.empty()) {
    auto assets = event_assets(e);
    if (std::none_of(assets.begin(), assets.end(), [&](const std::string& a) {
          return std::find(o.assets.begin(), o.assets.end(), a) != o.assets.end();
        }))
      return false;
  }
  return true;
}

// Where reading starts: --from-seq, or the first event at or after --from-time.
status start_seq(source& src, const events_options& o, std::uint64_t& out) {
  out = std::max<std::uint64_t>(1, o.from_seq);
  if (!o.from_time_us || !src.random_access()) return status::ok();
  std::uint64_t t = 0;
  if (auto s = seq_at_or_after(src, *o.from_time_us, t); !s) return s;
  out = std::max(out, t);
  return status::ok();
}

bool stopped(const events_options& o) { return o.stop && o.stop->load(); }

// Renders one batch; `done` once past --to-seq/--to-time.
status render(const std::vector<journal_entry>& batch, const events_options& o, std::string& buf, events_report& r,
              bool& done) {
  for (const auto& je : batch) {
    if (je.seq > o.to_seq) return (done = true), status::ok();
    event e;
    if (auto s = decode_event(je.event_bytes, e); !s)
      return status::corruption("seq " + std::to_string(je.seq) + ": " + s.message());
    if (o.to_time_us && e.log_ts_us > *o.to_time_us) return (done = true), status::ok();
    r.read++;
    r.last_seq = je.seq;
    if (o.from_time_us && e.log_ts_us < *o.from_time_us) continue;
    if (!matches(e, o)) continue;
    r.written++;
    if (o.csv) {
      append_event_csv(buf, e);
    } else {
      buf += event_to_json(e, je.chain);
      buf += '\n';
    }
  }
  return status::ok();
}

}  // namespace

status run_events(source& src, const events_options& o, std::FILE* out, events_report& r) {
  r = events_report{};
  std::uint64_t next = 1;
  if (auto s = start_seq(src, o, next); !s) return s;
  ledger_head head;
  if (auto s = src.head(head); !s) return s;
  progress prog("events", next, o.follow ? 0 : std::min(head.seq, o.to_seq));
  if (!o.progress_bar) prog.set_enabled(false);
  std::string buf;
  if (o.csv) buf.assign(event_csv_header());
  std::vector<journal_entry> batch;
  bool done = false;
  while (!done && !stopped(o)) {
    if (auto s = src.read(next, fold_batch_events, batch); !s) return s;
    if (batch.empty()) {
      if (!o.follow) break;
      std::fflush(out);
      src.wait_past(next - 1, follow_wait_ms);
      continue;
    }
    if (auto s = render(batch, o, buf, r, done); !s) return s;
    next = batch.back().seq + 1;
    if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), out) != buf.size())
      return errno == EPIPE ? status::ok() : status::io_error("writing the output failed");
    buf.clear();
    prog.update(r.last_seq);
  }
  if (!buf.empty()) std::fwrite(buf.data(), 1, buf.size(), out);
  std::fflush(out);
  prog.finish(std::to_string(r.written) + " of " + std::to_string(r.read) + " events written, last seq " +
                  std::to_string(r.last_seq),
              r.read);
  return status::ok();
}

}  // namespace ledger::audit
