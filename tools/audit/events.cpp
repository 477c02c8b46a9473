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
void render(const std::vector<decoded_event>& batch, const events_options& o, std::string& buf, events_report& r,
            bool& done) {
  for (const auto& d : batch) {
    const event& e = d.e;
    if (e.seq > o.to_seq || (o.to_time_us && e.log_ts_us > *o.to_time_us)) {
      done = true;
      return;
    }
    r.read++;
    r.last_seq = e.seq;
    if (o.from_time_us && e.log_ts_us < *o.from_time_us) continue;
    if (!matches(e, o)) continue;
    r.written++;
    if (o.csv) {
      append_event_csv(buf, e);
    } else {
      append_event_json(buf, e, d.chain);
      buf += '\n';
    }
  }
}

// Streams from `next` to the current end of the journal (or --to-*).
status stream_once(source& src, const events_options& o, std::FILE* out, progress& prog, std::uint64_t& next,
                   events_report& r, bool& done) {
  std::string buf;
  if (o.csv && next == std::max<std::uint64_t>(1, r.first_seq)) buf.assign(event_csv_header());
  event_stream stream(src, ledger_head{next - 1, {}, 0, 0}, o.to_seq, false);
  std::vector<decoded_event> batch;
  while (!done && !stopped(o) && stream.next(batch)) {
    render(batch, o, buf, r, done);
    next = batch.back().e.seq + 1;
    if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), out) != buf.size())
      return errno == EPIPE ? (done = true, status::ok()) : status::io_error("writing the output failed");
    buf.clear();
    prog.update(r.last_seq);
  }
  if (!buf.empty()) std::fwrite(buf.data(), 1, buf.size(), out);
  std::fflush(out);
  return stream.error();
}

}  // namespace

status run_events(source& src, const events_options& o, std::FILE* out, events_report& r) {
  r = events_report{};
  std::uint64_t next = 1;
  if (auto s = start_seq(src, o, next); !s) return s;
  r.first_seq = next;
  ledger_head head;
  if (auto s = src.head(head); !s) return s;
  progress prog("events", next, o.follow ? 0 : std::min(head.seq, o.to_seq));
  if (!o.progress_bar) prog.set_enabled(false);
  bool done = false;
  while (!done && !stopped(o)) {
    if (auto s = stream_once(src, o, out, prog, next, r, done); !s) return s;
    if (!o.follow) break;
    src.wait_past(next - 1, follow_wait_ms);
  }
  prog.finish(std::to_string(r.written) + " of " + std::to_string(r.read) + " events written, last seq " +
                  std::to_string(r.last_seq),
              r.read);
  return status::ok();
}

}  // namespace ledger::audit
