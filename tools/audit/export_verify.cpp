// ledgerctl audit export and audit verify.
#include "engine/chain.h"
#include "engine/rebuild.h"
#include "schemas/event_json.h"
#include "tools/audit/commands.h"
#include "tools/audit/signing.h"

namespace ledger::audit {

namespace {

// A bound on what verify reserves up front (the map grows past it if needed).
constexpr std::uint64_t hash_kv_reserve_max = 64'000'000;

status read_one(source& src, std::uint64_t seq, journal_entry& out) {
  std::vector<journal_entry> one;
  if (auto s = src.read(seq, 1, one); !s) return s;
  if (one.empty() || one[0].seq != seq) return status::not_found("event " + std::to_string(seq) + " is not in the journal");
  out = std::move(one[0]);
  return status::ok();
}

// The manifest of an export up to `last`: read before any segment is written.
status build_manifest(source& src, std::uint64_t last, const signing_key& key, manifest& m) {
  journal_entry first, tail;
  if (auto s = read_one(src, 1, first); !s) return s;
  if (auto s = read_one(src, last, tail); !s) return s;
  event e;
  if (auto s = decode_event(tail.event_bytes, e); !s) return status::corruption("seq " + std::to_string(last) + ": " + s.message());
  m = manifest{};
  m.ledger_id = src.ledger_id();
  m.first_seq = 1;
  m.last_seq = last;
  m.chain_head = to_hex(tail.chain);
  m.last_log_ts_us = e.log_ts_us;
  m.public_key = key.public_key_hex();
  std::vector<checkpoint> cps;
  if (auto s = src.checkpoints(cps); !s) return s;
  for (const auto& c : cps)
    if (c.seq <= last && m.checkpoints.size() < checkpoints_max) m.checkpoints.push_back(c);
  return status::ok();
}

status write_segments(source& src, archive_writer& w, std::uint64_t last, export_report& r) {
  progress prog("audit export", 1, last);
  std::vector<journal_entry> batch;
  for (std::uint64_t next = 1; next <= last;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(segment_events_max, last - next + 1));
    if (auto s = src.read(next, n, batch); !s) return s;
    if (batch.empty() || batch.front().seq != next)
      return status::corruption("seq " + std::to_string(next) + ": missing from the journal being exported");
    if (auto s = w.add(segment_name(next), encode_journal_batch(next, batch)); !s) return s;
    next = batch.back().seq + 1;
    r.segments++;
    prog.update(next - 1);
  }
  prog.finish("exported seq 1.." + std::to_string(last) + " in " + std::to_string(r.segments) + " segments", last);
  return status::ok();
}

// Signature and signer of an archive's manifest.
status check_signature(archive_reader& a, const verify_options& o, verify_report& r) {
  const auto& m = a.info();
  std::string signer = m.public_key;
  if (o.public_key) {
    std::string pinned;
    if (auto s = public_key_hex_of(*o.public_key, pinned); !s) return s;
    if (pinned != m.public_key)
      return status::corruption("the archive was signed by key " + m.public_key + ", not by the key given");
    r.signer_pinned = true;
  }
  if (auto s = verify_signature(signer, a.manifest_bytes(), a.signature()); !s) return s;
  r.signature_checked = true;
  return status::ok();
}

// The journal's end against what the manifest (or data directory head) promised.
status check_end(const fold_result& f, const ledger_head& expect, archive_reader* a) {
  if (f.head.seq < expect.seq)
    return status::corruption("seq " + std::to_string(f.head.seq + 1) + ": missing: the journal ends at seq " +
                              std::to_string(f.head.seq) + " but " + (a ? "the manifest" : "the head") + " says " +
                              std::to_string(expect.seq) + (a ? " (truncated archive)" : ""));
  if (a && to_hex(f.head.chain) != a->info().chain_head)
    return status::corruption("seq " + std::to_string(f.head.seq) + ": the chain head differs from the signed manifest's");
  if (!a && f.head.chain != expect.chain)
    return status::corruption("seq " + std::to_string(f.head.seq) + ": the chain head differs from the store's head");
  return status::ok();
}

}  // namespace

status run_export(source& src, const std::string& out_path, std::uint64_t to_seq, const std::string& key_path,
                  export_report& r) {
  r = export_report{};
  std::unique_ptr<signing_key> key;
  if (auto s = signing_key::load(key_path, key); !s) return s;
  ledger_head head;
  if (auto s = src.head(head); !s) return s;
  std::uint64_t last = std::min(head.seq, to_seq);
  if (last == 0) return status::invalid_argument("the journal is empty: nothing to export");
  if (auto s = build_manifest(src, last, *key, r.info); !s) return s;
  std::string bytes = encode_manifest(r.info), sig;
  if (auto s = key->sign(bytes, sig); !s) return s;
  std::unique_ptr<archive_writer> w;
  if (auto s = archive_writer::open(out_path, w); !s) return s;
  if (auto s = w->add("manifest.json", bytes); !s) return s;
  if (auto s = w->add("manifest.sig", sig); !s) return s;
  if (auto s = write_segments(src, *w, last, r); !s) return s;
  return w->finish();
}

status run_verify(source& src, const verify_options& o, verify_report& r) {
  r = verify_report{};
  archive_reader* a = src.archive();
  if (a)
    if (auto s = check_signature(*a, o, r); !s) return s;
  ledger_head expect;
  if (auto s = src.head(expect); !s) return s;
  if (o.to_seq && a) return status::invalid_argument("an archive is verified whole: to_seq applies to a journal only");
  if (o.to_seq && *o.to_seq < expect.seq) {
    journal_entry last;
    if (auto s = read_one(src, *o.to_seq, last); !s) return s;
    expect = ledger_head{last.seq, last.chain};
  }
  std::vector<checkpoint> cps;
  if (auto s = src.checkpoints(cps); !s) return s;
  r.ledger_id = src.ledger_id();
  if (!a) std::erase_if(cps, [&](const checkpoint& c) { return c.seq > expect.seq; });  // taken while we read
  hash_kv kv;
  kv.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(expect.seq, hash_kv_reserve_max)));
  ledger_state state(kv, [](std::uint64_t) { return std::nullopt; });
  std::size_t next_cp = 0;
  auto at_checkpoints = [&](const event& e, const hash256& chain) -> status {
    for (; next_cp < cps.size() && cps[next_cp].seq <= e.seq; ++next_cp) {
      const auto& c = cps[next_cp];
      if (c.seq < e.seq) continue;  // a checkpoint at a seq the journal skipped: reported as a gap
      if (c.chain != chain) return status::corruption("seq " + std::to_string(c.seq) + ": the chain differs from the checkpoint's");
      state.flush();
      // The digest alone: the same framing as store::state_digest, over the
      // rebuilt key space in key order (hash_kv sorts only what is new).
      digest_builder d;
      kv.walk([&](std::string_view k, std::string_view v) { d.add(k, v); });
      const hash256 digest = d.finish();
      if (digest != c.state_digest)
        return status::corruption("seq " + std::to_string(c.seq) + ": the rebuilt state digest " + to_hex(digest) +
                                  " differs from the checkpoint's " + to_hex(c.state_digest));
      r.checkpoints_checked++;
    }
    return status::ok();
  };
  progress prog("audit verify", 1, expect.seq);
  if (!o.progress_bar) prog.set_enabled(false);
  fold_bound bound;
  bound.seq_max = expect.seq;
  fold_result f;
  if (auto s = fold(src, state, genesis_head(src), bound, &prog, at_checkpoints, f); !s) return s;
  if (auto s = check_end(f, expect, a); !s) return s;
  if (next_cp < cps.size()) return status::corruption("seq " + std::to_string(cps[next_cp].seq) + ": a checkpoint lies past the journal");
  r.events = f.events;
  r.head = f.head;
  prog.finish("verified seq 1.." + std::to_string(f.head.seq) + ", " + std::to_string(r.checkpoints_checked) +
                  " checkpoint digests" + (a ? (r.signer_pinned ? ", signature (pinned key)" : ", signature (archive's own key)") : ""),
              f.events);
  return status::ok();
}

}  // namespace ledger::audit
