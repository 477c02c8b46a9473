#include "engine/replica.h"

#include <chrono>

#include "engine/chain.h"
#include "engine/rebuild.h"

namespace ledger {

status replica::open(const store_options& options, std::unique_ptr<replica>& out) {
  std::unique_ptr<replica> r(new replica());
  if (auto s = store::open(options, r->store_); !s) return s;
  if (auto s = r->reload_state(); !s) return s;
  r->committed_ = r->store_->head();
  out = std::move(r);
  return status::ok();
}

// Members go in reverse order: state_, which refers to the store's kv,
// before store_.
replica::~replica() = default;

ledger_head replica::head() const {
  std::lock_guard lock(mu_);
  return committed_;
}

bool replica::wait_for_seq(std::uint64_t seq, int timeout_ms) const {
  std::unique_lock lock(mu_);
  return committed_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return committed_.seq >= seq; });
}

status replica::check_entries(const ledger_head& from, const std::vector<journal_entry>& entries,
                              std::vector<std::pair<const journal_entry*, event>>& fresh) {
  std::uint64_t seq = from.seq;
  hash256 chain = from.chain;
  for (const auto& je : entries) {
    // At-least-once sources hand entries back; anything at or below what is
    // already taken is one of those, not an error, provided it is the same
    // entry: a divergent history (after a failover, say) must not pass
    // unnoticed. Older than the head: checked against the store afterwards.
    if (je.seq <= seq) {
      const hash256* known = nullptr;
      if (je.seq == from.seq) known = &from.chain;
      else if (je.seq > from.seq) known = &fresh[je.seq - from.seq - 1].first->chain;
      if (known && *known != je.chain)
        return status::corruption("entry " + std::to_string(je.seq) + " differs from the one already applied: divergent history");
      continue;
    }
    if (je.seq != seq + 1)
      return status::corruption("journal gap: expected seq " + std::to_string(seq + 1) + ", found " +
                                std::to_string(je.seq));
    if (chain_next(chain, je.event_bytes) != je.chain)
      return status::corruption("chain hash mismatch at seq " + std::to_string(je.seq) +
                                ": the event or its predecessor was altered");
    event e;
    if (auto s = decode_event(je.event_bytes, e); !s)
      return status::corruption("event " + std::to_string(je.seq) + ": " + s.message());
    if (e.seq != je.seq)
      return status::corruption("event " + std::to_string(je.seq) + " carries seq " + std::to_string(e.seq));
    fresh.emplace_back(&je, std::move(e));
    seq = je.seq;
    chain = je.chain;
  }
  return status::ok();
}

status replica::apply(const std::vector<journal_entry>& entries) {
  if (entries.size() > replica_apply_entries_max)
    return status::invalid_argument(std::to_string(entries.size()) + " entries in one call; at most " +
                                    std::to_string(replica_apply_entries_max));
  std::lock_guard apply_lock(apply_mu_);
  if (!state_)
    if (auto s = reload_state(); !s) return s;

  // The store's head is the committed one: only this (locked) path commits.
  const ledger_head from = store_->head();
  std::vector<std::pair<const journal_entry*, event>> fresh;
  if (auto s = check_entries(from, entries, fresh); !s) return s;
  if (auto s = check_older(from, entries); !s) return s;
  if (fresh.empty()) return status::ok();

  ledger_head next = from;
  for (const auto& [je, e] : fresh) {
    if (auto s = check_event(*state_, e); !s) {
      status why = status::corruption("event " + std::to_string(e.seq) + ": " + s.message());
      // check_event only reads: if no event of this call was applied yet,
      // there is nothing to undo.
      if (next.seq == from.seq) return why;
      if (auto r = roll_back(); !r)
        return status::corruption(why.message() + "; then reloading the state failed: " + r.to_string());
      return why;
    }
    state_->apply(e);
    store_->add_event(e.seq, je->event_bytes, je->chain);
    next = ledger_head{e.seq, je->chain, e.log_ts_us, e.input_pos};
  }
  state_->flush();
  if (auto s = store_->commit(next); !s) {
    // The store dropped the batch, so memory is ahead of it: reload. If the
    // reload fails too, state_ stays null and the next call retries it.
    (void)reload_state();
    return s;
  }
  {
    std::lock_guard lock(mu_);
    committed_ = next;
  }
  committed_cv_.notify_all();
  return status::ok();
}

status replica::check_older(const ledger_head& from, const std::vector<journal_entry>& entries) const {
  std::uint64_t lowest = from.seq;
  for (const auto& je : entries) lowest = std::min(lowest, je.seq == 0 ? lowest : je.seq);
  if (lowest >= from.seq) return status::ok();
  // One read of the stored range covers every older duplicate of the call.
  std::vector<journal_entry> stored;
  if (auto s = store_->read_journal(lowest, static_cast<std::size_t>(from.seq - lowest), stored); !s) return s;
  for (const auto& je : entries) {
    if (je.seq == 0 || je.seq >= from.seq) continue;
    std::size_t i = static_cast<std::size_t>(je.seq - lowest);
    if (i >= stored.size() || stored[i].seq != je.seq)
      return status::corruption("entry " + std::to_string(je.seq) + " is below the head but not in the replica's journal");
    if (stored[i].chain != je.chain)
      return status::corruption("entry " + std::to_string(je.seq) + " differs from the one already applied: divergent history");
  }
  return status::ok();
}

status replica::roll_back() {
  store_->discard();
  return reload_state();
}

status replica::reload_state() {
  state_.reset();
  auto st = std::make_unique<ledger_state>(store_->writer_kv(),
                                           [s = store_.get()](std::uint64_t seq) { return s->writer_event(seq); });
  if (auto s = store_->load(*st); !s) return s;
  state_ = std::move(st);
  return status::ok();
}

}  // namespace ledger
