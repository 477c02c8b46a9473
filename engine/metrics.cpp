#include "engine/metrics.h"

#include "base/prometheus.h"

namespace ledger {

std::string engine_metrics(const engine& e) {
  namespace prom = prometheus;
  auto s = e.stats();
  auto head = e.head();
  std::string out;
  out += prom::header("ledger_engine_commit_seconds", "Durable commit latency of engine batches.", "histogram");
  prom::histogram_samples(out, "ledger_engine_commit_seconds", "", s.commit_seconds);
  out += prom::header("ledger_engine_batch_commands", "Commands per engine batch.", "histogram");
  prom::histogram_samples(out, "ledger_engine_batch_commands", "", s.batch_commands);
  out += prom::gauge("ledger_engine_queue_depth", "Commands waiting in the command log.", double(s.queue_depth));
  out += prom::counter("ledger_engine_commands_total", "Commands applied.", s.commands);
  out += prom::counter("ledger_engine_replays_total", "Idempotent replays answered.", s.replays);
  out += prom::gauge("ledger_journal_seq", "Sequence of the last committed event.", double(head.seq));
  out += prom::gauge("ledger_wallet_sessions_active", "Active wallet sessions.", double(e.session_count()));
  out += prom::gauge("ledger_wallet_challenges_open", "Sign-in challenges not yet expired.", double(e.challenge_count()));
  out += prom::gauge("ledger_engine_failed", "1 if the engine stopped after a store failure.", e.failed() ? 1 : 0);
  return out;
}

}  // namespace ledger
