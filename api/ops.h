// The operations endpoints: GET /healthz (alive), GET /readyz (200 when
// the process does its job now: an active engine, a projector keeping up,
// an API whose ledger accepts commands; 503 with a reason code otherwise,
// e.g. a standby engine) and GET /metrics. Served on their own listener: the
// Kafka engine's and a projector's --listen, serve's --ops-listen. No
// authentication: bind them to an internal address. Reasons are codes
// ("standby", "io-error"), never error text.
#pragma once

#include <functional>

#include "api/http.h"
#include "base/json_out.h"
#include "schemas/base.h"

namespace ledger::api {

struct ops_probes {
  // ok, or why the process is not ready; `role` names what it is doing.
  std::function<status()> ready;
  std::function<std::string()> role;
  std::function<std::string()> metrics;  // Prometheus text
  // Further members of the /readyz object (optional).
  std::function<void(json_out&)> details;
};

class ops_handler final : public http_handler {
 public:
  explicit ops_handler(ops_probes p) : p_(std::move(p)) {}
  void handle(http_request&& req, responder done) override;

 private:
  ops_probes p_;
};

}  // namespace ledger::api
