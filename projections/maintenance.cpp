#include "projections/maintenance.h"

#include <pqxx/pqxx>

#include <map>

#include "engine/rebuild.h"

namespace ledger::projections {

status verify_read_models(const journal_source& journal, const std::string& conninfo, const std::string& schema,
                          const std::string& projection, verify_report& out) {
  out = verify_report{};
  try {
    pqxx::connection c(conninfo);
    // Checkpoint and balances from one snapshot, so they describe the same seq.
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(c);
    std::string q = c.quote_name(schema);
    auto cp = tx.exec_params("SELECT last_seq, chain_hash FROM " + q + ".projection_checkpoints WHERE projection = $1",
                             projection);
    if (cp.empty()) return status::not_found("no checkpoint for projection " + projection + " in schema " + schema);
    out.checkpoint_seq = cp[0][0].as<std::uint64_t>();
    pqxx::binarystring chain_bytes(cp[0][1]);

    std::map<std::pair<std::uint64_t, std::string>, std::array<std::string, 3>> pg;
    for (const auto& row : tx.exec("SELECT wallet_id, asset, posted::text, held::text, incoming::text FROM " + q + ".balances"))
      pg[{row[0].as<std::uint64_t>(), row[1].c_str()}] = {row[2].c_str(), row[3].c_str(), row[4].c_str()};
    if (!tx.exec1("SELECT to_regclass(" + tx.quote(schema + ".projection_dead_letters") + ") IS NULL")[0].as<bool>())
      for (const auto& row : tx.exec_params("SELECT seq, command, error FROM " + q +
                                                ".projection_dead_letters WHERE projection = $1 ORDER BY seq",
                                            projection))
        out.dead_letters.push_back({row[0].as<std::uint64_t>(), row[1].c_str(), row[2].c_str()});
    std::map<std::string, int> scales;
    for (const auto& row : tx.exec("SELECT code, scale FROM " + q + ".assets")) scales[row[0].c_str()] = row[1].as<int>();

    rebuilt_state r;
    rebuild_bound bound;
    bound.seq_max = out.checkpoint_seq;
    if (auto s = rebuild(journal.read, journal.genesis, bound, r); !s) return s;
    if (r.head.seq != out.checkpoint_seq)
      return status::corruption("the journal ends at seq " + std::to_string(r.head.seq) + ", before the checkpoint's " +
                                std::to_string(out.checkpoint_seq));
    if (chain_bytes.size() != 32 || !std::equal(r.head.chain.begin(), r.head.chain.end(), chain_bytes.data()))
      out.drifts.push_back({0, "", "checkpoint chain", "differs", to_hex(r.head.chain)});

    for (const auto& acc : r.state->accounts())
      for (const auto& b : acc.balances) {
        int scale = scales.count(b.asset) ? scales[b.asset] : -1;
        auto fmt = [&](amount_t v) { return scale < 0 ? to_decimal(v) + " (minor units)" : format_amount(v, scale); };
        std::array<std::string, 3> want = {fmt(b.posted()), fmt(b.debits_pending), fmt(b.credits_pending)};
        auto it = pg.find({acc.id, b.asset});
        if (it == pg.end()) {
          // A user wallet's untouched balance is a row of zeros in both.
          out.drifts.push_back({acc.id, b.asset, "missing row", "", want[0]});
          continue;
        }
        ++out.balances_compared;
        static const char* names[] = {"posted", "held", "incoming"};
        for (int i = 0; i < 3; ++i)
          if (it->second[static_cast<std::size_t>(i)] != want[static_cast<std::size_t>(i)])
            out.drifts.push_back({acc.id, b.asset, names[i], it->second[static_cast<std::size_t>(i)], want[static_cast<std::size_t>(i)]});
        pg.erase(it);
      }
    for (const auto& [k, v] : pg) out.drifts.push_back({k.first, k.second, "extra row", v[0], ""});
    return status::ok();
  } catch (const pqxx::broken_connection& e) {
    return status::unavailable(std::string("verify: database unreachable: ") + e.what());
  } catch (const std::exception& e) {
    return status::io_error(std::string("verify: ") + e.what());
  }
}

namespace {
// Imports (reconciliations) are not derived from the journal, so a rebuild
// cannot make them: they move to the rebuilt schema in the swap.
void carry_imports(pqxx::work& tx, const std::string& from, const std::string& to) {
  if (tx.exec_params("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'reconciliations'", from).empty())
    return;
  const std::string f = tx.quote_name(from), t = tx.quote_name(to);
  tx.exec("INSERT INTO " + t + ".reconciliations SELECT * FROM " + f + ".reconciliations");
  tx.exec("INSERT INTO " + t + ".reconciliation_items SELECT * FROM " + f + ".reconciliation_items");
  tx.exec("SELECT setval(pg_get_serial_sequence(" + tx.quote(t + ".reconciliations") +
          ", 'reconciliation_id'), coalesce(max(reconciliation_id), 0) + 1, false) FROM " + t + ".reconciliations");
}
}  // namespace

status rebuild_read_models(const journal_source& journal, const std::string& conninfo, const std::string& schema,
                           const std::string& projection, rebuild_report& out) {
  const std::string fresh = schema + "_rebuild";
  const std::string old = schema + "_old";
  try {
    pqxx::connection c(conninfo);
    {
      pqxx::nontransaction n(c);
      n.exec("DROP SCHEMA IF EXISTS " + c.quote_name(fresh) + " CASCADE");
    }
    projector_options o;
    o.conninfo = conninfo;
    o.name = projection;
    o.schema = fresh;
    projector p(journal, o);
    if (auto s = p.catch_up(); !s) return s;
    // The swap: both renames and the drop in one transaction, so readers see
    // the old tables or the new ones, never neither.
    pqxx::work tx(c);
    tx.exec("SET LOCAL lock_timeout = '30s'");
    // Waits for a live projector's batch in progress and keeps the next one
    // from starting until the swap commits; the live projector then finds
    // the rebuilt checkpoint and continues from there.
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(projection_lock_key(schema)) + ")");
    tx.exec("DROP SCHEMA IF EXISTS " + c.quote_name(old) + " CASCADE");
    auto exists = tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema);
    if (!exists.empty()) carry_imports(tx, schema, fresh);
    if (!exists.empty()) tx.exec("ALTER SCHEMA " + c.quote_name(schema) + " RENAME TO " + c.quote_name(old));
    tx.exec("ALTER SCHEMA " + c.quote_name(fresh) + " RENAME TO " + c.quote_name(schema));
    if (!exists.empty()) tx.exec("DROP SCHEMA " + c.quote_name(old) + " CASCADE");
    tx.commit();
    auto st = p.stats();
    out.projected_seq = st.projected_seq;
    out.events = st.events;
    return status::ok();
  } catch (const pqxx::broken_connection& e) {
    return status::unavailable(std::string("rebuild: database unreachable: ") + e.what());
  } catch (const std::exception& e) {
    return status::io_error(std::string("rebuild: ") + e.what());
  }
}

}  // namespace ledger::projections
