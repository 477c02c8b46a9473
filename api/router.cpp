#include "api/router.h"

#include "api/request_parse.h"

namespace ledger::api {

unsigned role_bit(role r) {
  switch (r) {
    case role::user: return role_user;
    case role::service: return role_service;
    case role::admin: return role_admin;
    case role::auditor: return role_auditor;
  }
  return 0;
}

namespace {

std::vector<std::string> segments_of(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path[0] == '/') path.remove_prefix(1);
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

// An id segment: "{id}" or "{..._id}" (the last one fills `id`; earlier
// ones stay in the path for the handler).
bool is_id_pattern(std::string_view p) {
  return p == "{id}" || (p.size() > 5 && p.front() == '{' && p.substr(p.size() - 4) == "_id}");
}

// Whether `r` matches the segments; fills `id` from an id segment; any
// other "{name}" matches one non-empty segment.
bool matches(const route& r, const std::vector<std::string_view>& segments, std::uint64_t& id) {
  if (r.pattern.size() != segments.size()) return false;
  id = 0;
  for (std::size_t i = 0; i < r.pattern.size(); ++i) {
    if (is_id_pattern(r.pattern[i])) {
      auto v = parse_id(segments[i]);
      if (!v) return false;
      id = *v;
    } else if (r.pattern[i].size() > 2 && r.pattern[i].front() == '{') {
      if (segments[i].empty()) return false;
    } else if (segments[i] != r.pattern[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void router::add(std::string method, std::string_view path, std::string name, route_handler handler,
                 std::optional<operation> command) {
  routes_.push_back({std::move(method), segments_of(path), std::move(name), handler, std::move(command)});
}

router::match_result router::match(std::string_view method, const std::vector<std::string_view>& segments) const {
  match_result out;
  for (const auto& r : routes_) {
    std::uint64_t id = 0;
    if (!matches(r, segments, id)) continue;
    out.allow += out.allow.empty() ? r.method : ", " + r.method;
    if (method == r.method) {
      out.found = &r;
      out.id = id;
    }
  }
  return out;
}

const operation* router::find_operation(std::string_view type) const {
  for (const auto& r : routes_)
    if (r.command && r.command->type == type) return &*r.command;
  return nullptr;
}

std::vector<route_info> router::list() const {
  std::vector<route_info> out;
  for (const auto& r : routes_) {
    std::string path;
    for (const auto& seg : r.pattern) path += "/" + seg;
    out.push_back({r.method, path, r.name, r.command.has_value()});
  }
  return out;
}

}  // namespace ledger::api
