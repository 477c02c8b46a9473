// The event journal over HTTP: NDJSON pages with a cursor (GET /v1/events),
// a live follow as Server-Sent Events (GET /v1/events/stream, or
// /v1/events with Accept: text/event-stream) and as a WebSocket
// (GET /v1/events/ws). Every channel renders through view_event (filters
// and the user redaction) and schemas/event_json.
//
// Pages read the committed journal from the store on the I/O thread,
// bounded (events_page_max events answered, events_scan_max read); the
// streams are fed by the event hub's thread (api/event_hub.h).
#include <functional>

#include "api/exchange.h"
#include "api/request_parse.h"
#include "api/routes.h"

namespace ledger::api {

namespace {

constexpr std::size_t page_read_chunk = 1024;
constexpr std::size_t page_limit_default = 100;

void append_query_escaped(std::string& out, std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : v) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

// The next page's target: the same filters, after `next`.
std::string next_link(const header_list& original, std::uint64_t next) {
  std::string t = "/v1/events?after_seq=" + std::to_string(next);
  for (const auto& [k, v] : original) {
    if (k == "after_seq" || k == "from_time") continue;
    t += '&';
    append_query_escaped(t, k);
    t += '=';
    append_query_escaped(t, v);
  }
  return t;
}

// What every event route reads: who may see what, and the filters; false
// after answering.
bool read_filter(exchange& x, event_filter& f) {
  bool everything = x.who->role_ == role::admin || x.who->role_ == role::auditor;
  if (auto p = read_event_filter(x.query, everything, f)) return x.fail(*p), false;
  if (!everything) {
    f.user = x.who->subject;
    for (auto w : f.wallets)
      if (auto p = x.svc.state.owned(*x.who, w, "wallet")) return x.fail(*p), false;
  }
  return true;
}

bool no_unknown_params(exchange& x) {
  if (x.query.empty()) return true;
  x.fail({400, "unknown-field", "unknown query parameter", x.query.front().first, {}});
  return false;
}

// The seq reading starts after: after_seq, or just before from_time's first
// event, or `otherwise`.
bool start_after(exchange& x, const event_position& pos, std::uint64_t head, std::uint64_t otherwise,
                 std::uint64_t& out) {
  out = otherwise;
  if (pos.after_seq) out = *pos.after_seq;
  if (pos.from_time_us) {
    std::uint64_t first = 0;
    if (auto s = first_seq_at_or_after(x.svc.ledger.storage(), head, *pos.from_time_us, first); !s)
      return x.fail_status(s, fault::ledger), false;
    out = first - 1;
  }
  return true;
}

struct page_result {
  std::string body;
  std::uint64_t events = 0, next = 0;
};

// Matching events after `after`, up to `limit` of them, reading at most scan_max.
status read_page(exchange& x, const event_filter& f, std::uint64_t after, std::uint64_t head, std::size_t limit,
                 page_result& out) {
  const store& st = x.svc.ledger.storage();
  owner_cache owners(st);
  owner_lookup lookup = std::ref(owners);
  member_lookup members = group_members_of(st);
  out.next = after;
  std::vector<journal_entry> chunk;
  std::uint64_t scanned = 0;
  while (out.events < limit && out.next < head && scanned < x.svc.config.events_scan_max) {
    std::uint64_t n = std::min<std::uint64_t>(page_read_chunk, head - out.next);
    if (auto s = st.read_journal(out.next + 1, static_cast<std::size_t>(n), chunk); !s) return s;
    if (chunk.empty()) break;
    for (const auto& j : chunk) {
      if (j.seq <= out.next) continue;
      if (j.seq > head || out.events >= limit) break;
      event e;
      if (auto s = decode_event(j.event_bytes, e); !s) return s;
      if (auto json = view_event(e, j.chain, f, lookup, nullptr, members)) {
        out.body += *json;
        out.body += '\n';
        out.events++;
      }
      out.next = j.seq;
      scanned++;
    }
  }
  return status::ok();
}

bool wants_event_stream(const exchange& x) {
  return lower(x.req.header("accept")).find("text/event-stream") != std::string::npos;
}

void on_stream(const exchange_ptr& x, event_channel ch);

void on_page(const exchange_ptr& x, std::uint64_t) {
  if (wants_event_stream(*x)) return on_stream(x, event_channel::sse);
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  auto original = x->query;
  event_filter f;
  event_position pos;
  if (!read_filter(*x, f)) return;
  if (auto p = read_event_position(x->query, pos)) return x->fail(*p);
  std::size_t limit = page_limit_default;
  const std::size_t page_max = x->svc.config.events_page_max;
  for (auto it = x->query.begin(); it != x->query.end(); ++it) {
    if (it->first != "limit") continue;
    auto n = parse_id(it->second);
    if (!n || *n > page_max) return x->fail({400, "invalid-field", "must be 1 to " + std::to_string(page_max), "limit", {}});
    limit = static_cast<std::size_t>(*n);
    x->query.erase(it);
    break;
  }
  if (!no_unknown_params(*x)) return;
  std::uint64_t head = x->svc.ledger.head().seq, after = 0;
  if (!start_after(*x, pos, head, 0, after)) return;
  page_result page;
  if (auto s = read_page(*x, f, after, head, limit, page); !s) return x->fail_status(s, fault::ledger);
  http_response r;
  r.content_type = "application/x-ndjson";
  r.body = std::move(page.body);
  r.headers = {{"X-Next-After-Seq", std::to_string(page.next)},
               {"Link", "<" + next_link(original, page.next) + ">; rel=\"next\""},
               {"Ledger-Seq", std::to_string(head)}};
  x->finish(std::move(r));
}

// Browsers cannot set Authorization on an EventSource or a WebSocket: the
// stream routes also take the bearer token as the access_token parameter
// (the header wins when both are sent).
void take_query_token(exchange& x) {
  for (auto it = x.query.begin(); it != x.query.end(); ++it) {
    if (it->first != "access_token") continue;
    if (!x.req.has_header("authorization")) x.req.headers.emplace_back("authorization", "Bearer " + it->second);
    x.query.erase(it);
    return;
  }
}

void on_stream(const exchange_ptr& x, event_channel ch) {
  take_query_token(*x);
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  if (ch == event_channel::websocket && lower(x->req.header("upgrade")) != "websocket")
    return x->fail({426, "upgrade-required", "this is a WebSocket endpoint: send an Upgrade: websocket request", "",
                    {{"Upgrade", "websocket"}}});
  event_filter f;
  event_position pos;
  if (!read_filter(*x, f)) return;
  if (auto p = read_event_position(x->query, pos)) return x->fail(*p);
  if (!no_unknown_params(*x)) return;
  // A reconnecting EventSource sends the last id it saw: resume right after it.
  if (auto last = x->req.header("last-event-id"); !last.empty()) {
    auto n = last == "0" ? std::optional<std::uint64_t>(0) : parse_id(last);
    if (!n) return x->fail({400, "invalid-field", "must be an event seq", "last-event-id", {}});
    pos = event_position{n, std::nullopt};
  }
  std::uint64_t head = x->svc.ledger.head().seq, after = 0;
  if (!start_after(*x, pos, head, head, after)) return;
  auto sub = x->svc.events->subscribe(after, std::move(f), ch);
  if (!sub)
    return x->fail({503, "too-many-subscribers", "the event stream subscriber limit is reached; retry later", "",
                    {{"Retry-After", "5"}}});
  http_response r;
  r.content_type = ch == event_channel::sse ? "text/event-stream" : "";
  r.headers = {{"Ledger-Seq", std::to_string(head)}, {"X-Accel-Buffering", "no"}};
  r.stream = std::move(sub);
  r.websocket = ch == event_channel::websocket;
  x->finish(std::move(r));
}

void on_sse(const exchange_ptr& x, std::uint64_t) { on_stream(x, event_channel::sse); }
void on_ws(const exchange_ptr& x, std::uint64_t) { on_stream(x, event_channel::websocket); }

}  // namespace

void add_events_routes(router& r) {
  r.add("GET", "/v1/events", "list_events", &on_page);
  r.add("GET", "/v1/events/stream", "stream_events", &on_sse);
  r.add("GET", "/v1/events/ws", "events_websocket", &on_ws);
}

}  // namespace ledger::api
