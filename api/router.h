// The route table: which handler answers which method and path, and the
// commands the API accepts (by route, or as items of a batch).
//
// Design: each resource family is a module (api/routes_*.cpp) with one
// function that appends its routes to the router; service.cpp lists the
// modules. A new family of routes is a new module file and one line in that
// list. The table is built once, before serving, and is read-only after.
//
// Matching: paths are split into segments and compared literally; "{id}"
// and "{..._id}" (e.g. "{dest_id}") match a positive decimal integer with no
// sign and no leading zero (the last one is the route's id); any other
// "{name}" (such as "{asset}" or the console's "{file}") matches one
// non-empty segment, which the handler reads from exchange::segments itself.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/jwt.h"
#include "api/problem.h"
#include "api/request_json.h"
#include "schemas/commands.h"

namespace ledger::api {

class exchange;
class state_reads;
using exchange_ptr = std::shared_ptr<exchange>;

// Roles as bits, for a route's or an operation's allowed roles.
inline constexpr unsigned role_user = 1, role_service = 2, role_admin = 4, role_auditor = 8;
inline constexpr unsigned any_role = role_user | role_service | role_admin | role_auditor;
unsigned role_bit(role r);

// One kind of command the API accepts, by route or as a batch item.
struct operation {
  std::string_view type;  // the command's name: route name, batch "type", outcome "command"
  unsigned success_status = 200;
  unsigned roles = 0;
  // Reads fields (and the path id, when routed by path; 0 in a batch) into a command body.
  void (*parse)(state_reads&, field_reader&, const principal&, std::uint64_t path_id, command_body&) = nullptr;
  // Object-level authorization beyond the role; nullopt: allowed.
  std::optional<problem> (*authorize)(state_reads&, const principal&, const command_body&) = nullptr;
};

// Answers one matched request; `id` is the path's {id}, or 0.
using route_handler = void (*)(const exchange_ptr& x, std::uint64_t id);

struct route {
  std::string method;
  std::vector<std::string> pattern;  // path segments; "{id}" matches an id
  std::string name;                  // operationId, metrics label
  route_handler handler = nullptr;
  std::optional<operation> command;  // set for command routes
};

// One route the service answers, for documentation checks.
struct route_info {
  std::string method;
  std::string path;  // "/v1/wallets/{id}"
  std::string name;
  bool command = false;  // a command route: `name` is also a /v1/batch item type
};

class router {
 public:
  // "/v1/wallets/{id}" is split into its segments. Command routes carry
  // their operation (see add_command in api/commands.h).
  void add(std::string method, std::string_view path, std::string name, route_handler handler,
           std::optional<operation> command = std::nullopt);

  struct match_result {
    const route* found = nullptr;  // the route for this method, if any
    std::uint64_t id = 0;
    std::string allow;  // methods the path answers, "GET, POST"; empty: no such path
  };
  match_result match(std::string_view method, const std::vector<std::string_view>& segments) const;
  // The command of a batch item's "type", or null.
  const operation* find_operation(std::string_view type) const;
  std::vector<route_info> list() const;

 private:
  std::vector<route> routes_;
};

// A module adds its routes with one of these.
using route_module = void (*)(router&);

}  // namespace ledger::api
