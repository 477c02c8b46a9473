// The operations endpoints alone, for processes that serve no API (the
// Kafka engine, a projector): GET /healthz (alive), GET /readyz (200 when
// the process does its job now: an active engine, a projector keeping up;
// 503 with the reason otherwise, e.g. a standby engine) and GET /metrics.
// No authentication, like the same routes on the API; bind them to an
// internal address.
#pragma once

#include <functional>

#include "api/http.h"
#include "schemas/base.h"

namespace ledger::api {

struct ops_probes {
  // ok, or why the process is not ready; `role` names what it is doing.
  std::function<status()> ready;
  std::function<std::string()> role;
  std::function<std::string()> metrics;  // Prometheus text
};

class ops_handler final : public http_handler {
 public:
  explicit ops_handler(ops_probes p) : p_(std::move(p)) {}
  void handle(http_request&& req, responder done) override;

 private:
  ops_probes p_;
};

}  // namespace ledger::api
