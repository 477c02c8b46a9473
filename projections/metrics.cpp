#include "projections/metrics.h"


namespace ledger::projections {

std::string projection_metrics(const projector& p, const ledger_head& head) {
  return projection_metrics(p.stats(), head);
}

}  // namespace ledger::projections
