// The web console: static HTML, CSS and JavaScript compiled into the binary
// from console/ (api/embed_console.cmake), served at /console and
// /console/<file> with a strict Content-Security-Policy, and GET /v1/me,
// which tells the console who the bearer token stands for, so what it shows
// follows the role the API itself recognises (nothing is decoded in the
// browser).
//
// The files need no token: they hold no data, only the code that asks the
// API for it with the token the person pastes in. A name not in the
// embedded table is 404 problem+json, like any other unknown path.
#include "api/console_embedded.h"
#include "api/exchange.h"
#include "api/routes.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

// Only the console's own files may run, style or be fetched; no inline
// script or style, no framing, no forms posting anywhere.
constexpr std::string_view console_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.size() > ext.size() && name.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const embedded::console_file* find_file(std::string_view name) {
  for (const auto& f : embedded::console_files)
    if (f.name == name) return &f;
  return nullptr;
}

// Whether If-None-Match names this ETag (a list, or "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  return !if_none_match.empty() && if_none_match.find(etag) != std::string_view::npos;
}

void serve_file(const exchange_ptr& x, std::string_view name) {
  const auto* f = find_file(name);
  if (!f) return x->fail({404, "not-found", "no resource at this path", "", {}});
  http_response r;
  r.content_type = std::string(content_type_of(f->name));
  r.headers = {{"Content-Security-Policy", std::string(console_csp)},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"ETag", std::string(f->etag)},
               {"Cache-Control", "no-cache"}};
  if (etag_matches(x->req.header("if-none-match"), f->etag)) {
    r.status = 304;
    r.content_type.clear();
  } else {
    r.body = std::string(f->body);
  }
  x->finish(std::move(r));
}

void on_console_index(const exchange_ptr& x, std::uint64_t) { serve_file(x, "index.html"); }

void on_console_file(const exchange_ptr& x, std::uint64_t) { serve_file(x, x->segments.back()); }

void on_me(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(any_role)) return;
  json_out j;
  j.begin_object().field("subject", x->who->subject).field("role", to_string(x->who->role_)).end_object();
  http_response r;
  r.body = j.take();
  x->finish(std::move(r));
}

}  // namespace

void add_console_routes(router& r) {
  r.add("GET", "/console", "console", &on_console_index);
  r.add("GET", "/console/{file}", "console_file", &on_console_file);
  r.add("GET", "/v1/me", "get_me", &on_me);
}

}  // namespace ledger::api
