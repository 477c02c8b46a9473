#include "api/rate_limit.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ledger::api {

namespace {

constexpr std::uint32_t quota_max = 1'000'000;
constexpr std::uint32_t window_s_max = 86'400;
constexpr std::size_t principal_key_bytes_max = 128;
constexpr std::size_t forwarded_hops_max = 32;

constexpr std::array<std::string_view, route_class_count> class_names{"auth", "commands", "reads", "other"};

std::optional<std::uint32_t> to_u32(std::string_view s) {
  std::uint32_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An address as 16 bytes (IPv4 mapped into IPv6, prefix lengths shifted by 96).
struct ip16 {
  std::array<unsigned char, 16> b{};
  bool v4 = false;
};

std::optional<ip16> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  ip16 out;
  in_addr a4;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    out.v4 = true;
    out.b[10] = out.b[11] = 0xff;
    std::memcpy(out.b.data() + 12, &a4, 4);
    return out;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
  std::memcpy(out.b.data(), &a6, 16);
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  out.v4 = std::memcmp(out.b.data(), mapped, 12) == 0;
  return out;
}

struct cidr {
  ip16 base;
  unsigned bits = 128;
};

std::optional<cidr> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return std::nullopt;
  cidr c{*ip, 128};
  if (slash != std::string_view::npos) {
    auto bits = to_u32(text.substr(slash + 1));
    if (!bits || *bits > (ip->v4 ? 32u : 128u)) return std::nullopt;
    c.bits = ip->v4 ? *bits + 96 : *bits;
  }
  return c;
}

bool contains(const cidr& c, const ip16& ip) {
  for (unsigned i = 0; i < c.bits; ++i) {
    unsigned byte = i / 8, mask = 0x80u >> (i % 8);
    if ((c.base.b[byte] & mask) != (ip.b[byte] & mask)) return false;
  }
  return true;
}

bool trusted(const ip16& ip, const std::vector<std::string>& proxies) {
  for (const auto& p : proxies)
    if (auto c = parse_cidr(p); c && contains(*c, ip)) return true;
  return false;
}

// The bucket key of an address: IPv4 as is, IPv6 by its /64, since one
// host usually owns a whole /64 and could otherwise rotate through it.
std::string address_key(const ip16& ip) {
  char buf[INET6_ADDRSTRLEN];
  if (ip.v4) {
    inet_ntop(AF_INET, ip.b.data() + 12, buf, sizeof buf);
    return buf;
  }
  auto prefix = ip.b;
  std::fill(prefix.begin() + 8, prefix.end(), 0);
  inet_ntop(AF_INET6, prefix.data(), buf, sizeof buf);
  return std::string(buf) + "/64";
}

std::string strip_port(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') return std::string(remote.substr(1, remote.find(']') - 1));
  auto colon = remote.rfind(':');
  if (colon == std::string_view::npos) return std::string(remote);
  // "1.2.3.4:80" or Asio's "::1:80": the text after the last colon is the port.
  if (remote.find(':') == colon || parse_ip(remote.substr(0, colon))) return std::string(remote.substr(0, colon));
  return std::string(remote);
}

// Long or odd principals are keyed by their SHA-256, so keys stay bounded.
std::string principal_key(std::string_view subject) {
  bool plain = subject.size() <= principal_key_bytes_max;
  for (unsigned char ch : subject)
    if (ch < 0x21 || ch > 0x7e) plain = false;
  if (plain) return std::string(subject);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(subject.data(), subject.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256-";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

std::string_view to_string(route_class c) { return class_names[static_cast<std::size_t>(c)]; }

std::optional<route_class> route_class_from(std::string_view name) {
  for (std::size_t i = 0; i < class_names.size(); ++i)
    if (class_names[i] == name) return static_cast<route_class>(i);
  return std::nullopt;
}

std::optional<std::string> rate_limit_settings::validate() const {
  for (std::size_t i = 0; i < classes.size(); ++i) {
    const auto& c = classes[i];
    std::string name(class_names[i]);
    if (c.principal_quota > quota_max || c.address_quota > quota_max)
      return "rate limit " + name + ": a quota may be at most " + std::to_string(quota_max);
    if (c.window_s < 1 || c.window_s > window_s_max)
      return "rate limit " + name + ": the window must be 1 to " + std::to_string(window_s_max) + " seconds";
  }
  for (const auto& p : trusted_proxies)
    if (!parse_cidr(p)) return "trusted proxy " + p + ": not an IP address or CIDR block";
  return std::nullopt;
}

std::optional<std::string> rate_limit_settings::set(std::string_view spec) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    auto colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  std::string shown(spec.substr(0, 64));
  if (parts.size() != 4) return "rate limit " + shown + ": expected CLASS:PRINCIPAL_QUOTA:ADDRESS_QUOTA:WINDOW_S";
  auto cls = route_class_from(parts[0]);
  if (!cls) return "rate limit " + shown + ": the class must be auth, commands, reads or other";
  auto p = to_u32(parts[1]), a = to_u32(parts[2]), w = to_u32(parts[3]);
  if (!p || !a || !w) return "rate limit " + shown + ": quotas and window must be whole numbers";
  auto saved = classes;
  classes[static_cast<std::size_t>(*cls)] = {*p, *a, *w};
  if (auto e = validate()) {
    classes = saved;
    return e;
  }
  return std::nullopt;
}

bucket_view bucket_peek(const std::optional<bucket_state>& s, std::int64_t now_ms, std::uint32_t quota,
                        std::uint32_t window_s) {
  const std::int64_t window_ms = std::int64_t(window_s) * 1000;
  const std::int64_t full = std::int64_t(quota) * window_ms;
  bucket_view v;
  v.level = full;
  if (s) {
    std::int64_t elapsed = std::max<std::int64_t>(0, now_ms - s->updated_ms);
    // Cap elapsed before multiplying, so a long idle time cannot overflow.
    elapsed = std::min<std::int64_t>(elapsed, window_ms);
    v.level = std::min(full, s->level + elapsed * quota);
  }
  v.remaining = static_cast<std::uint32_t>(v.level / window_ms);
  if (v.level < full) v.reset_ms = ceil_div(std::int64_t(v.remaining + 1) * window_ms - v.level, quota);
  if (v.level < window_ms) v.retry_ms = ceil_div(window_ms - v.level, quota);
  return v;
}

limit_request make_limit_request(const rate_limit_settings& s, route_class c, std::string_view principal,
                                 std::string_view address) {
  const auto& l = s.classes[static_cast<std::size_t>(c)];
  limit_request r;
  r.cls = c;
  std::string cls(to_string(c));
  if (!principal.empty() && l.principal_quota > 0)
    r.keys.push_back({cls + ":p:" + principal_key(principal), cls + "-principal", l.principal_quota, l.window_s});
  if (!address.empty() && l.address_quota > 0)
    r.keys.push_back({cls + ":a:" + std::string(address), cls + "-address", l.address_quota, l.window_s});
  return r;
}

std::string client_address(std::string_view remote, std::string_view x_forwarded_for,
                           const std::vector<std::string>& trusted_proxies) {
  std::string peer_text = strip_port(remote);
  auto peer = parse_ip(peer_text);
  if (!peer) return peer_text;
  if (x_forwarded_for.empty() || !trusted(*peer, trusted_proxies)) return address_key(*peer);
  // Walk from the right: each trusted hop vouches for the entry to its left.
  ip16 current = *peer;
  std::size_t end = x_forwarded_for.size();
  for (std::size_t hops = 0; hops < forwarded_hops_max && end > 0; ++hops) {
    auto comma = x_forwarded_for.rfind(',', end - 1);
    std::size_t start = comma == std::string_view::npos ? 0 : comma + 1;
    auto hop = parse_ip(trim(x_forwarded_for.substr(start, end - start)));
    // Garbage can only come from the client's side: stop at the last hop we trust.
    if (!hop) break;
    current = *hop;
    if (!trusted(current, trusted_proxies)) break;
    if (comma == std::string_view::npos) break;
    end = comma;
  }
  return address_key(current);
}

std::vector<std::pair<std::string, std::string>> rate_limit_headers(const limit_decision& d) {
  std::vector<std::pair<std::string, std::string>> h;
  std::string policy, state;
  for (const auto& p : d.parts) {
    if (!policy.empty()) policy += ", ", state += ", ";
    policy += "\"" + p.policy + "\";q=" + std::to_string(p.quota) + ";w=" + std::to_string(p.window_s);
    state += "\"" + p.policy + "\";r=" + std::to_string(p.remaining) + ";t=" + std::to_string(p.reset_s);
  }
  if (!policy.empty()) {
    h.emplace_back("RateLimit-Policy", std::move(policy));
    h.emplace_back("RateLimit", std::move(state));
  }
  if (d.v != limit_decision::verdict::allowed)
    h.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, d.retry_after_s)));
  return h;
}

void rate_limit_counters::count(const limit_decision& d) {
  counts_[static_cast<std::size_t>(d.cls)][static_cast<std::size_t>(d.v)].fetch_add(1, std::memory_order_relaxed);
}

std::string rate_limit_counters::render(std::string_view backend) const {
  static const char* verdicts[] = {"allowed", "refused", "backend_error"};
  std::string out =
      "# HELP ledger_rate_limit_requests_total Rate limit decisions by route class and result.\n"
      "# TYPE ledger_rate_limit_requests_total counter\n";
  for (std::size_t c = 0; c < route_class_count; ++c)
    for (std::size_t v = 0; v < 3; ++v)
      out += "ledger_rate_limit_requests_total{backend=\"" + std::string(backend) + "\",class=\"" +
             std::string(class_names[c]) + "\",result=\"" + verdicts[v] + "\"} " +
             std::to_string(counts_[c][v].load(std::memory_order_relaxed)) + "\n";
  return out;
}

// ---------------------------------------------------------------------------

void local_limiter::take(limit_request r, callback done) {
  limit_decision d;
  d.cls = r.cls;
  {
    const std::int64_t now_ms = clock_.monotonic_ns() / 1'000'000;
    std::lock_guard lock(mu_);
    std::vector<bucket_view> views;
    bool ok = true;
    for (const auto& k : r.keys) {
      auto it = buckets_.find(k.name);
      std::optional<bucket_state> s;
      if (it != buckets_.end()) s = it->second.s;
      views.push_back(bucket_peek(s, now_ms, k.quota, k.window_s));
      if (views.back().retry_ms > 0) ok = false;
    }
    if (ok && buckets_.size() + r.keys.size() > buckets_max_) sweep_full(now_ms);
    if (ok && buckets_.size() + r.keys.size() > buckets_max_) {
      d.v = limit_decision::verdict::unavailable;  // too many distinct clients at once
      d.retry_after_s = 1;
    } else {
      d.v = ok ? limit_decision::verdict::allowed : limit_decision::verdict::refused;
      for (std::size_t i = 0; i < r.keys.size(); ++i) {
        const auto& k = r.keys[i];
        if (ok) {
          buckets_[k.name] = {{views[i].level - std::int64_t(k.window_s) * 1000, now_ms}, k.quota, k.window_s};
          views[i] = bucket_peek(buckets_[k.name].s, now_ms, k.quota, k.window_s);
        }
        d.parts.push_back({k.policy, k.quota, k.window_s, views[i].remaining, ceil_div(views[i].reset_ms, 1000)});
        d.retry_after_s = std::max(d.retry_after_s, ceil_div(views[i].retry_ms, 1000));
      }
    }
  }
  counters().count(d);
  done(std::move(d));
}

void local_limiter::sweep_full(std::int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    auto v = bucket_peek(it->second.s, now_ms, it->second.quota, it->second.window_s);
    if (v.reset_ms == 0)
      it = buckets_.erase(it);  // a full bucket is the same as no bucket
    else
      ++it;
  }
}

std::size_t local_limiter::buckets() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

std::optional<std::string> parse_redis_url(std::string_view url, redis_settings& out) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) return "--redis-url must start with redis://";
  url.remove_prefix(scheme.size());
  redis_settings s = out;
  if (auto at = url.find('@'); at != std::string_view::npos) {
    auto userinfo = url.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos)
      return "--redis-url must not carry a password; set LEDGER_REDIS_PASSWORD_FILE";
    s.user = std::string(userinfo);
    url.remove_prefix(at + 1);
  }
  auto slash = url.find('/');
  auto hostport = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto db = to_u32(url.substr(slash + 1));
    if (!db || *db > 15) return "--redis-url: the database must be 0 to 15";
    s.db = int(*db);
  }
  auto colon = hostport.rfind(':');
  std::string_view host = hostport, port;
  if (colon != std::string_view::npos && colon > 0 && (hostport.front() != '[' || hostport[colon - 1] == ']')) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() > 253) return "--redis-url: a host is required";
  if (!port.empty()) {
    auto p = to_u32(port);
    if (!p || *p == 0 || *p > 65535) return "--redis-url: the port must be 1 to 65535";
    s.port = int(*p);
  }
  s.host = std::string(host);
  out = std::move(s);
  return std::nullopt;
}

}  // namespace ledger::api
