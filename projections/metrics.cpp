#include "projections/metrics.h"

#include "base/prometheus.h"

namespace ledger::projections {

std::string projection_metrics(const projector& p, const ledger_head& head) {
  namespace prom = prometheus;
  auto st = p.stats();
  std::uint64_t lag = head.seq > st.projected_seq ? head.seq - st.projected_seq : 0;
  double lag_s = lag == 0 ? 0.0 : double(head.log_ts_us - st.projected_log_ts_us) / 1e6;
  std::string out;
  out += prom::gauge("ledger_projection_seq", "Last event projected into PostgreSQL.", double(st.projected_seq));
  out += prom::gauge("ledger_projection_lag_events", "Events committed but not yet projected.", double(lag));
  out += prom::gauge("ledger_projection_lag_seconds", "Log time between the journal head and the last projected event.",
                     lag_s < 0 ? 0 : lag_s);
  out += prom::counter("ledger_projection_failures_total", "Failed projection batches (retried).", st.failures);
  return out;
}

}  // namespace ledger::projections
