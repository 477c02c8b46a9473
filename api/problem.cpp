#include "api/problem.h"

#include "api/request_parse.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

std::string slug_of(reason r) {
  std::string s(to_string(r));
  for (auto& c : s)
    if (c == '_') c = '-';
  return s;
}

std::string_view instance_of(std::string_view target) { return target.substr(0, target.find('?')); }

void write_members(json_out& j, unsigned status, std::string_view slug, std::string_view detail,
                   const problem_origin& at) {
  j.field("type", "/problems/" + std::string(slug))
      .field("title", problem_title(slug))
      .field("status", status)
      .field("detail", detail)
      .field("instance", instance_of(at.target))
      .field("request_id", at.request_id);
}

}  // namespace

std::string_view problem_title(std::string_view slug) {
  static const std::pair<const char*, const char*> titles[] = {
      {"malformed-json", "Malformed JSON"},
      {"malformed-request", "Malformed HTTP request"},
      {"invalid-field", "Invalid field"},
      {"unknown-field", "Unknown field"},
      {"unknown-asset", "Unknown asset"},
      {"body-too-large", "Request body too large"},
      {"headers-too-large", "Request headers too large"},
      {"unsupported-media-type", "Unsupported media type"},
      {"not-found", "Not found"},
      {"method-not-allowed", "Method not allowed"},
      {"unauthorized", "Unauthorized"},
      {"forbidden", "Forbidden"},
      {"idempotency-key-missing", "Idempotency-Key header required"},
      {"idempotency-key-invalid", "Idempotency-Key header invalid"},
      {"request-in-flight", "A request with this Idempotency-Key is in progress"},
      {"idempotency-conflict", "Idempotency-Key reused with another request body"},
      {"overloaded", "The ledger is busy; retry later"},
      {"unavailable", "The ledger is unavailable"},
      {"shutting-down", "The ledger is shutting down"},
      {"internal-error", "Internal error"},
      {"rate-limited", "Too many requests"},
      {"rate-limiter-unavailable", "The rate limiter is unavailable; retry later"},
      {"too-many-subscribers", "Too many event stream subscribers"},
      {"upgrade-required", "WebSocket upgrade required"},
      {"no-audit-key", "No audit signing key configured"},
      {"sign-in-refused", "Wallet sign-in refused"},
      {"unsupported-chain", "Unsupported chain"},
      {"media-type-mismatch", "Content-Type does not match the content"},
      {"documents-unavailable", "Document storage is unavailable"},
      {"link-expired", "Download link expired"},
      {"link-invalid", "Download link invalid"},
      {"empty-document", "Empty document"},
      {"virus-scanner-unavailable", "The virus scanner is unavailable"},
      {"infected-content", "The content is infected"},
      {"export-too-soon", "One export per hour"},
      {"exports-busy", "Too many exports at once"},
      {"export-refused", "Export refused"},
      {"owner-holds-money", "The owner still holds money"},
      {"owner-deleted", "The owner was deleted"},
      {"owner-changed", "The owner's documents changed"},
      {"fresh-credential-required", "A fresh credential is required"},
      {"uploads-busy", "Too many uploads in progress; retry later"},
      {"upload-timeout", "The upload was too slow"},
      {"request-body-incomplete", "The request body ended early or is malformed"},
      {"malformed-multipart", "Malformed multipart/form-data body"},
      {"image-too-large", "The image's dimensions exceed the limits"},
  };
  for (const auto& [k, v] : titles)
    if (slug == k) return v;
  return "Command rejected";
}

http_response problem_response(const problem& p, const problem_origin& at) {
  json_out j;
  j.begin_object();
  write_members(j, p.status, p.slug, p.detail, at);
  if (!p.field.empty()) j.field("field", p.field);
  j.end_object();
  http_response r;
  r.status = p.status;
  r.content_type = "application/problem+json";
  r.body = j.take();
  r.headers = p.headers;
  return r;
}

std::string rejection_body(const outcome& o, const problem_origin& at) {
  json_out j;
  j.begin_object();
  write_members(j, rejection_status, slug_of(o.reason), o.detail.empty() ? std::string(to_string(o.reason)) : o.detail,
                at);
  j.field("outcome", "rejected").field("reason", to_string(o.reason)).field("seq", o.seq).end_object();
  return j.take();
}

problem problem_of(const status& s, fault who, int retry_after_s) {
  // 5xx details are generic: the error's own text (libpq's, RocksDB's, the
  // engine's) names hosts, files and internals. The caller logs it.
  if (s.retryable())
    return {503, "unavailable", "the ledger could not complete this request now; retry later", "",
            {{"Retry-After", std::to_string(retry_after_s)}}};
  if (who == fault::caller && s.error_code() == status::code::not_found) return {404, "not-found", s.message(), "", {}};
  if (who == fault::caller && s.error_code() == status::code::invalid_argument)
    return {400, "invalid-field", s.message(), "", {}};
  return {500, "internal-error", "the ledger could not complete this request", "", {}};
}

std::string_view reason_code(const status& s) {
  switch (s.error_code()) {
    case status::code::ok: return "ok";
    case status::code::not_found: return "not-found";
    case status::code::corruption: return "corruption";
    case status::code::io_error: return "io-error";
    case status::code::invalid_argument: return "invalid-argument";
    case status::code::unavailable: return "unavailable";
  }
  return "unknown";
}

void http_handler::reject(http_request&& partial, const transport_error& e, responder done) {
  std::string id = request_id_of(partial);
  auto r = problem_response({e.status, e.slug, e.detail, "", {}}, {partial.target, id});
  r.headers.emplace_back("X-Request-ID", id);
  done(std::move(r));
}

}  // namespace ledger::api
