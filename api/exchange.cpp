#include "api/exchange.h"

#include "api/request_parse.h"
#include "api/session_tokens.h"

#include <thread>

namespace ledger::api {

namespace {

const char* cors_exposed_headers =
    "Ledger-Seq, Idempotent-Replayed, X-Request-ID, Retry-After, RateLimit, RateLimit-Policy";

// The probes answer load balancers and orchestrators: never limited.
bool unlimited(std::string_view route) { return route == "healthz" || route == "readyz" || route == "metrics"; }

route_class class_of(const route& r) {
  // Wallet sign-in checks credentials: the auth class (api/routes_auth.cpp).
  if (r.name == "create_auth_session") return route_class::auth;
  if (r.method == "POST") return route_class::commands;
  if (r.method == "GET") return route_class::reads;
  return route_class::other;
}
const char* cors_allowed_headers = "Authorization, Content-Type, Idempotency-Key, X-Request-ID";

}  // namespace

exchange::exchange(service_state& s, http_request&& r, responder done)
    : svc(s), req(std::move(r)), request_id(request_id_of(req)), done_(std::move(done)),
      start_ns_(s.clk.monotonic_ns()) {
  svc.in_flight++;
  if (auto origin = req.header("origin"); !origin.empty()) {
    for (const auto& allowed : svc.config.cors_origins)
      if (allowed == origin) {
        cors_headers = {{"Access-Control-Allow-Origin", std::string(origin)},
                        {"Vary", "Origin"},
                        {"Access-Control-Expose-Headers", cors_exposed_headers}};
        break;
      }
  }
}

void exchange::run(const exchange_ptr& x) { x->route_request(x); }

void exchange::route_request(const exchange_ptr& self) {
  if (!split_target(req.target, segments, query))
    return limit_then(self, route_class::other, [self] { self->fail({404, "not-found", "no resource at this path", "", {}}); });
  auto m = svc.routes.match(req.method, segments);
  if (req.method == "OPTIONS" && !m.allow.empty())
    return limit_then(self, route_class::other, [self, allow = m.allow] { self->options(allow); });
  if (!m.found) {
    return limit_then(self, route_class::other, [self, allow = m.allow] {
      if (allow.empty()) return self->fail({404, "not-found", "no resource at this path", "", {}});
      self->fail({405, "method-not-allowed", self->req.method + " is not allowed here", "", {{"Allow", allow + ", OPTIONS"}}});
    });
  }
  route_name = m.found->name;
  matched = m.found;
  if (unlimited(route_name)) return m.found->handler(self, m.id);
  limit_then(self, class_of(*m.found), [self, handler = m.found->handler, id = m.id] { handler(self, id); });
}

void exchange::limit_then(const exchange_ptr& self, route_class c, std::function<void()> next) {
  limiter* l = svc.config.limits;
  if (!l) return next();
  const auto& settings = svc.config.rate_limits;
  std::string subject;
  if (auto h = req.header("authorization"); h.size() >= 7 && lower(h.substr(0, 7)) == "bearer ") {
    verified = verify_bearer(svc.ledger, svc.jwt, h.substr(7), svc.clk.now_us());
    if (const auto* p = std::get_if<principal>(&*verified))
      subject = p->subject;
    else
      c = route_class::auth;  // a refused token: the stricter class, by address
  }
  auto address = client_address(req.remote, req.header("x-forwarded-for"), settings.trusted_proxies);
  // The in-process limiter answers inline; the Redis one from its own
  // thread, whose decision is handed to an I/O thread.
  auto caller = std::this_thread::get_id();
  l->take(make_limit_request(settings, c, subject, address),
          [self, caller, next = std::move(next)](limit_decision&& d) mutable {
            if (std::this_thread::get_id() == caller) return self->on_limit(std::move(d), next);
            self->svc.dispatch([self, d = std::move(d), next = std::move(next)]() mutable {
              self->on_limit(std::move(d), next);
            });
          });
}

void exchange::on_limit(limit_decision&& d, const std::function<void()>& next) {
  header_list retry;
  for (auto& h : rate_limit_headers(d)) (h.first == "Retry-After" ? retry : limit_headers).push_back(std::move(h));
  switch (d.v) {
    case limit_decision::verdict::allowed: return next();
    case limit_decision::verdict::refused:
      return fail({429, "rate-limited",
                   "too many " + std::string(to_string(d.cls)) + " requests; retry after " + retry.front().second + " s",
                   "", std::move(retry)});
    case limit_decision::verdict::unavailable:
      return fail({503, "rate-limiter-unavailable", "the rate limiter is unavailable; retry later", "", std::move(retry)});
  }
}

// OPTIONS: without Origin a plain OPTIONS (204 and Allow); with one a CORS
// preflight, answered only for an allowed origin asking for a method the
// path has.
void exchange::options(const std::string& allow) {
  route_name = "preflight";
  http_response r;
  r.status = 204;
  r.content_type.clear();
  if (!req.has_header("origin")) {
    r.headers = {{"Allow", allow + ", OPTIONS"}};
    return finish(std::move(r));
  }
  if (cors_headers.empty()) return fail({403, "forbidden", "origin not allowed", "", {}});
  auto wanted = req.header("access-control-request-method");
  bool known = false;
  for (std::string_view rest = allow; !rest.empty() && !known;) {
    auto comma = rest.find(", ");
    known = rest.substr(0, comma) == wanted;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
  }
  if (!known)
    return fail({403, "forbidden", "Access-Control-Request-Method must be one of " + allow, "access-control-request-method", {}});
  r.headers = {{"Access-Control-Allow-Methods", allow + ", OPTIONS"},
               {"Access-Control-Allow-Headers", cors_allowed_headers},
               {"Access-Control-Max-Age", "600"}};
  finish(std::move(r));
}

void exchange::finish(http_response&& r) {
  r.headers.emplace_back("X-Request-ID", request_id);
  // Balances, history and wallets are personal data: no cache keeps any
  // answer of this API (errors included; they name wallets too). Only the
  // console's static files set their own (revalidated by ETag).
  bool cache_set = false;
  for (const auto& h : r.headers) cache_set = cache_set || h.first == "Cache-Control";
  if (!cache_set) r.headers.emplace_back("Cache-Control", "no-store");
  for (auto& h : cors_headers) r.headers.push_back(h);
  for (auto& h : limit_headers) r.headers.push_back(std::move(h));
  if (!keys_held.empty()) {
    std::lock_guard lock(svc.keys_mu);
    for (const auto& k : keys_held) svc.keys_in_flight.erase(k);
    keys_held.clear();
  }
  double secs = double(svc.clk.monotonic_ns() - start_ns_) / 1e9;
  svc.stats.record(route_name, r.status, secs);
  svc.log.write("info", "request",
                {{"request_id", request_id},
                 {"method", req.method},
                 {"route", route_name},
                 {"status", std::to_string(r.status)},
                 {"duration_ms", std::to_string(secs * 1000.0)},
                 {"principal", who ? who->subject : ""},
                 {"remote", req.remote}});
  auto done = std::move(done_);
  svc.in_flight--;
  done(std::move(r));
}

void exchange::fail(const problem& p) { finish(problem_response(p, origin())); }

void exchange::log_error(const status& s) {
  svc.log.write("error", "operating error",
                {{"request_id", request_id}, {"route", route_name}, {"error", s.to_string()}});
}

void exchange::fail_status(const status& s, fault blame) {
  problem p = problem_of(s, blame);
  if (p.status >= 500) log_error(s);
  fail(p);
}

bool exchange::authenticate(unsigned roles) {
  auto h = req.header("authorization");
  if (h.size() < 7 || lower(h.substr(0, 7)) != "bearer ") {
    fail({401, "unauthorized", "a bearer token is required", "", {{"WWW-Authenticate", "Bearer"}}});
    return false;
  }
  auto v = verified ? std::move(*verified) : verify_bearer(svc.ledger, svc.jwt, h.substr(7), svc.clk.now_us());
  if (auto* e = std::get_if<jwt_error>(&v)) {
    fail({401, "unauthorized", "invalid token: " + e->reason, "", {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}}});
    return false;
  }
  who = std::get<principal>(v);
  if (!(role_bit(who->role_) & roles)) {
    fail({403, "forbidden", "role " + std::string(to_string(who->role_)) + " may not do this", "", {}});
    return false;
  }
  return true;
}

bool exchange::require_json(bool body_required) {
  if (!body_required && req.body.empty()) return true;
  if (is_json_content_type(req)) return true;
  fail({415, "unsupported-media-type", "Content-Type must be application/json", "", {}});
  return false;
}

}  // namespace ledger::api
