#include "api/ops.h"

#include "api/json_out.h"

namespace ledger::api {

void ops_handler::handle(http_request&& req, responder done) {
  http_response r;
  auto path = std::string_view(req.target).substr(0, req.target.find('?'));
  json_out j;
  if (req.method != "GET" && req.method != "HEAD") {
    r.status = 405;
    r.content_type = "application/problem+json";
    r.headers.emplace_back("Allow", "GET, HEAD");
    j.begin_object().field("type", "about:blank").field("title", "Method Not Allowed").field("status", 405).end_object();
  } else if (path == "/healthz") {
    j.begin_object().field("status", "ok").end_object();
  } else if (path == "/readyz") {
    status s = p_.ready ? p_.ready() : status::ok();
    r.status = s.is_ok() ? 200 : 503;
    j.begin_object().field("status", s.is_ok() ? "ready" : "not_ready");
    if (p_.role) j.field("role", p_.role());
    if (!s.is_ok()) j.field("reason", s.message());
    j.end_object();
  } else if (path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4";
    r.body = p_.metrics ? p_.metrics() : std::string();
    return done(std::move(r));
  } else {
    r.status = 404;
    r.content_type = "application/problem+json";
    j.begin_object()
        .field("type", "about:blank")
        .field("title", "Not Found")
        .field("status", 404)
        .field("detail", "this process serves /healthz, /readyz and /metrics only")
        .end_object();
  }
  r.body = j.take();
  done(std::move(r));
}

}  // namespace ledger::api
