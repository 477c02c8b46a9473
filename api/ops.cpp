#include "api/ops.h"

#include "api/problem.h"
#include "api/request_parse.h"

namespace ledger::api {

namespace {

void answer_problem(const http_request& req, problem p, const responder& done) {
  std::string id = request_id_of(req);
  auto r = problem_response(p, {req.target, id});
  r.headers.emplace_back("X-Request-ID", id);
  done(std::move(r));
}

}  // namespace

void ops_handler::handle(http_request&& req, responder done) {
  auto path = std::string_view(req.target).substr(0, req.target.find('?'));
  if (req.method != "GET" && req.method != "HEAD")
    return answer_problem(req, {405, "method-not-allowed", req.method + " is not allowed here", "", {{"Allow", "GET, HEAD"}}},
                          done);
  http_response r;
  json_out j;
  if (path == "/healthz") {
    j.begin_object().field("status", "ok").end_object();
  } else if (path == "/readyz") {
    status s = p_.ready ? p_.ready() : status::ok();
    r.status = s.is_ok() ? 200 : 503;
    j.begin_object().field("status", s.is_ok() ? "ready" : "not_ready");
    if (p_.role) j.field("role", p_.role());
    if (!s.is_ok()) j.field("reason", s.message());
    if (p_.details) p_.details(j);
    j.end_object();
  } else if (path == "/metrics") {
    r.content_type = "text/plain; version=0.0.4";
    r.body = p_.metrics ? p_.metrics() : std::string();
    return done(std::move(r));
  } else {
    return answer_problem(
        req, {404, "not-found", "this process serves /healthz, /readyz and /metrics only", "", {}}, done);
  }
  r.body = j.take();
  done(std::move(r));
}

}  // namespace ledger::api
