#include "api/commands.h"

#include <unordered_set>

#include "api/fx_json.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

struct pending_command {
  command cmd;
  const operation* op;
};

std::string unprintable_key_problem(std::string_view key) {
  for (unsigned char ch : key)
    if (ch < 0x21 || ch > 0x7e) return "must be printable ASCII without spaces";
  return {};
}

problem field_problem_of(const field_problem& p) {
  return {static_cast<unsigned>(p.http_status), p.type, p.detail, p.field, {}};
}

// Checks the Idempotency-Key header; false after answering.
bool check_key_header(exchange& x) {
  if (!x.req.has_header("idempotency-key")) {
    x.fail({400, "idempotency-key-missing", "every command needs an Idempotency-Key header", "", {}});
    return false;
  }
  auto key = x.req.header("idempotency-key");
  if (key.empty() || key.size() > key_bytes_max) {
    x.fail({400, "idempotency-key-invalid", "Idempotency-Key must be 1 to 255 characters", "", {}});
    return false;
  }
  if (!unprintable_key_problem(key).empty()) {
    x.fail({400, "idempotency-key-invalid", "Idempotency-Key must be printable ASCII", "", {}});
    return false;
  }
  return true;
}

bool refuse_when_draining(exchange& x) {
  if (!x.svc.draining) return false;
  x.fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  return true;
}

void balance_json(json_out& j, state_reads& s, const balance_changed& b) {
  j.begin_object()
      .field("account_id", b.account)
      .field("asset", b.asset)
      .field("posted", s.format(b.posted_after, b.asset))
      .field("held", s.format(b.debits_pending_after, b.asset))
      .field("incoming", s.format(b.credits_pending_after, b.asset))
      .field("total", s.format(b.posted_after, b.asset))
      .field("pending_incoming", s.format(b.credits_pending_after, b.asset))
      .field("pending_outgoing", s.format(b.debits_pending_after, b.asset))
      .end_object();
}

std::string accepted_body(exchange& x, const operation& op, const outcome& o) {
  json_out j;
  j.begin_object().field("outcome", "accepted").field("command", op.type).field("seq", o.seq);
  if (o.transaction_id) j.field("transaction_id", o.transaction_id);
  if (o.account_id) j.field(op.type == std::string_view("open_system_account") ? "account_id" : "wallet_id", o.account_id);
  if (o.pending_id) j.field(op.type == std::string_view("withdraw") ? "withdrawal_id" : "hold_id", o.pending_id);
  // Withdrawals, and deposits and transfers completed at once, answer as
  // they always did; their status is read on the transaction. (A pending
  // deposit answers with its deposit_id and status.)
  bool at_once = o.money_tx_status == money_status::completed &&
                 (op.type == std::string_view("deposit") || op.type == std::string_view("transfer"));
  bool legacy = at_once || op.type == std::string_view("withdraw") || op.type == std::string_view("settle_withdrawal") ||
                op.type == std::string_view("fail_withdrawal");
  if (o.money_tx_id && !legacy) {
    // A status change knows its transaction's kind from the command it answered.
    if (!o.pending_id) j.field(std::string(to_string(o.money_tx_kind)) + "_id", o.money_tx_id);
    j.field("status", to_string(o.money_tx_status));
  }
  if (o.quote) quote_fields(j, x.svc.state, *o.quote);
  if (o.payment_request_id) {
    j.field("payment_request_id", o.payment_request_id);
    if (!o.money_tx_id) j.field("status", to_string(o.payment_request_status_after));
  }
  j.key("balances").begin_array();
  for (const auto& b : o.balances) {
    // A user sees its own balances only, not the counterparty's or the
    // system accounts' totals.
    if (x.who && x.who->role_ == role::user) {
      auto a = x.svc.state.account(b.account);
      if (!a || a->kind != account_kind::user || a->owner != x.who->subject) continue;
    }
    balance_json(j, x.svc.state, b);
  }
  j.end_array().end_object();
  return j.take();
}

// The status and body of one outcome; rejections are problem documents.
std::pair<unsigned, std::string> outcome_body(exchange& x, const operation& op, const outcome& o, std::string& content_type) {
  if (o.result == event_status::rejected) {
    // Every business rejection, the idempotency conflict included, is 422:
    // the request was understood and refused by the ledger's rules.
    content_type = "application/problem+json";
    return {rejection_status, rejection_body(o, x.origin())};
  }
  content_type = "application/json";
  return {op.success_status, accepted_body(x, op, o)};
}

void respond_one(exchange& x, const operation& op, const outcome& o) {
  if (!o.error.is_ok()) return x.fail_status(o.error, fault::ledger);
  http_response r;
  auto [status, body] = outcome_body(x, op, o, r.content_type);
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
  if (o.replay) r.headers.emplace_back("Idempotent-Replayed", "true");
  x.finish(std::move(r));
}

void respond_batch(exchange& x, const std::vector<const operation*>& ops, const std::vector<outcome>& outs) {
  json_out j;
  std::uint64_t max_seq = 0;
  j.begin_object().key("results").begin_array();
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const auto& o = outs[i];
    j.begin_object();
    unsigned status = 0;
    std::string body;
    if (!o.error.is_ok()) {
      // The same shape as any item: status, replay and a problem body.
      x.log_error(o.error);
      auto r = problem_response(problem_of(o.error, fault::ledger), x.origin());
      status = r.status;
      body = std::move(r.body);
    } else {
      std::string ct;
      std::tie(status, body) = outcome_body(x, *ops[i], o, ct);
      max_seq = std::max(max_seq, o.seq);
    }
    j.field("status", status).field("replay", o.replay).key("body").raw(body).end_object();
  }
  j.end_array().end_object();
  http_response r;
  r.body = j.take();
  r.headers.emplace_back("Ledger-Seq", std::to_string(max_seq));
  x.finish(std::move(r));
}

void respond_outcomes(exchange& x, const std::vector<const operation*>& ops, std::vector<outcome>&& outs, bool batch) {
  if (!batch) return respond_one(x, *ops.at(0), outs.at(0));
  // A batch of one whose command failed is answered like a single command.
  if (outs.size() == 1 && !outs[0].error.is_ok()) return x.fail_status(outs[0].error, fault::ledger);
  respond_batch(x, ops, outs);
}

bool reserve_keys(exchange& x, const std::vector<command>& cmds) {
  std::lock_guard lock(x.svc.keys_mu);
  for (const auto& c : cmds)
    if (x.svc.keys_in_flight.count(c.principal + '\0' + c.idempotency_key)) return false;
  for (const auto& c : cmds) {
    x.keys_held.push_back(c.principal + '\0' + c.idempotency_key);
    x.svc.keys_in_flight.insert(x.keys_held.back());
  }
  return true;
}


void submit(const exchange_ptr& x, std::vector<command> cmds, std::vector<const operation*> ops, bool batch) {
  if (!reserve_keys(*x, cmds))
    return x->fail({409, "request-in-flight",
                    "a request with this Idempotency-Key is still being processed; retry later", "", {{"Retry-After", "1"}}});
  // The completion runs on the engine's writer thread: it only moves the
  // outcomes to an I/O thread, where the response is built.
  auto shared_ops = std::make_shared<std::vector<const operation*>>(std::move(ops));
  auto result = x->svc.ledger.submit(std::move(cmds), [x, shared_ops, batch](std::vector<outcome>&& outs) {
    x->svc.dispatch([x, shared_ops, batch, o = std::move(outs)]() mutable {
      respond_outcomes(*x, *shared_ops, std::move(o), batch);
    });
  });
  answer_append_failure(*x, result);
}

void on_command(const exchange_ptr& x, std::uint64_t id) {
  const operation& op = *x->matched->command;
  answer_command(x, id == 0, [&](state_reads& s, field_reader& r, const principal& p, command_body& out) {
    op.parse(s, r, p, id, out);
  });
}

}  // namespace

void answer_command(const exchange_ptr& x, bool body_required, const body_parser& parse) {
  const operation& op = *x->matched->command;
  if (!x->authenticate(op.roles) || !x->require_json(body_required)) return;
  if (refuse_when_draining(*x) || !check_key_header(*x)) return;
  simdjson::dom::object obj;
  std::string empty_object = "{}";
  if (auto p = parse_object(x->req.body.empty() ? empty_object : x->req.body, obj)) return x->fail(field_problem_of(*p));
  field_reader reader(obj);
  command cmd{x->who->subject, std::string(x->req.header("idempotency-key")), x->request_id, {}};
  parse(x->svc.state, reader, *x->who, cmd.body);
  if (auto p = reader.finish()) return x->fail(field_problem_of(*p));
  if (auto p = op.authorize(x->svc.state, *x->who, cmd.body)) return x->fail(*p);
  submit(x, {std::move(cmd)}, {&op}, false);
}

namespace {

// One batch item into a command; nullopt after answering.
std::optional<pending_command> read_batch_item(exchange& x, simdjson::dom::element item, std::size_t i,
                                               std::unordered_set<std::string>& keys) {
  std::string prefix = "commands[" + std::to_string(i) + "]";
  auto refuse = [&](problem p) {
    x.fail(p);
    return std::nullopt;
  };
  simdjson::dom::object o;
  if (item.get_object().get(o)) return refuse({400, "invalid-field", "must be an object", prefix, {}});
  field_reader r(o, prefix);
  std::string type = r.text("type", true, 64);
  std::string key = r.text("idempotency_key", true, key_bytes_max);
  if (!r.ok()) return refuse({400, "invalid-field", r.finish()->detail, r.finish()->field, {}});
  const auto* op = x.svc.routes.find_operation(type);
  if (!op) return refuse({400, "invalid-field", "unknown command type " + type, prefix + ".type", {}});
  if (!(role_bit(x.who->role_) & op->roles))
    return refuse({403, "forbidden", "role " + std::string(to_string(x.who->role_)) + " may not " + type, prefix, {}});
  if (!unprintable_key_problem(key).empty())
    return refuse({400, "invalid-field", "must be printable ASCII without spaces, like the header",
                   prefix + ".idempotency_key", {}});
  if (!keys.insert(key).second)
    return refuse({400, "invalid-field", "idempotency_key repeats within the batch", prefix + ".idempotency_key", {}});
  pending_command out{{x.who->subject, key, x.request_id, {}}, op};
  op->parse(x.svc.state, r, *x.who, 0, out.cmd.body);
  if (auto p = r.finish()) return refuse(field_problem_of(*p));
  if (auto p = op->authorize(x.svc.state, *x.who, out.cmd.body)) {
    p->field = prefix + "." + p->field;
    return refuse(*p);
  }
  return out;
}

void on_batch(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(any_role & ~role_auditor) || !x->require_json(true)) return;
  if (refuse_when_draining(*x)) return;
  simdjson::dom::object obj;
  if (auto p = parse_object(x->req.body, obj)) return x->fail(field_problem_of(*p));
  field_reader top(obj);
  auto items = top.array("commands", true, x->svc.config.batch_commands_max);
  if (auto p = top.finish()) return x->fail(field_problem_of(*p));
  if (items->size() == 0) return x->fail({400, "invalid-field", "must hold at least one command", "commands", {}});
  std::vector<command> cmds;
  std::vector<const operation*> ops;
  std::unordered_set<std::string> keys;
  std::size_t i = 0;
  for (auto item : *items) {
    auto pc = read_batch_item(*x, item, i++, keys);
    if (!pc) return;
    cmds.push_back(std::move(pc->cmd));
    ops.push_back(pc->op);
  }
  submit(x, std::move(cmds), std::move(ops), true);
}

}  // namespace

void answer_append_failure(exchange& x, append_result result) {
  switch (result) {
    case append_result::ok: return;
    case append_result::full:
      return x.fail({503, "overloaded", "the command queue is full; retry shortly", "", {{"Retry-After", "1"}}});
    case append_result::too_large: return x.fail({413, "body-too-large", "more commands than the queue holds", "", {}});
    case append_result::closed:
      // While draining, the engine stops once it applied what it accepted:
      // what arrives after is refused as any command during shutdown.
      if (x.svc.draining) return x.fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
      x.log_error(x.svc.ledger.health());
      return x.fail({503, "unavailable", "the ledger is not accepting commands", "", {{"Retry-After", "5"}}});
  }
}

void submit_single(const exchange_ptr& x, command cmd, std::function<void(const outcome&)> done) {
  // The completion runs on the engine's writer thread: it only moves the
  // outcome to an I/O thread.
  auto result = x->svc.ledger.submit({std::move(cmd)}, [x, done = std::move(done)](std::vector<outcome>&& outs) {
    x->svc.dispatch([done, o = std::move(outs.at(0))] { done(o); });
  });
  answer_append_failure(*x, result);
}

void add_command(router& r, std::string_view path, operation op) {
  r.add("POST", path, std::string(op.type), &on_command, op);
}

void add_batch_routes(router& r) { r.add("POST", "/v1/batch", "batch", &on_batch); }

std::uint64_t id_or_path(field_reader& r, std::string_view name, std::uint64_t path_id) {
  return path_id != 0 ? path_id : r.id(name);
}

std::optional<problem> no_check(state_reads&, const principal&, const command_body&) { return std::nullopt; }

}  // namespace ledger::api
