// ledgerctl's throughput on a large journal: replay to /dev/null (events as
// NDJSON), audit verify (chain, rebuild, checkpoint digests) over the data
// directory and over an exported archive, and audit state at the middle.
// Baselines in the same run: the raw journal read (no decoding) and the
// engine's single-threaded rebuild() (engine/rebuild.h).
//
// The journal is generated with the engine (tests/support/ledger_traffic.h,
// WAL not synced: durability is not what is measured), with a retained
// snapshot every --snapshot-every events and a checkpoint at the end.
// --keep-dir DIR keeps it there: a later run with the same DIR measures the
// same journal again without generating it.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/rebuild.h"
#include "tests/support/ledger_traffic.h"
#include "tests/support/temp_dir.h"
#include "tools/audit/commands.h"
#include "tools/audit/replay.h"
#include "tools/audit/signing.h"

namespace {

using namespace ledger;
using namespace ledger::audit;

struct args {
  std::uint64_t events = 10'000'000;
  std::uint64_t snapshot_every = 1'000'000;
  std::size_t snapshot_retain = 0;  // 0: all, so every point has one at or before it
  std::uint64_t snapshot_keep_every = 0;  // beyond the newest snapshot_retain, one per this many events
  std::size_t wallets = 10'000;
  bool archive = true;
  std::string keep_dir;  // generate here once and measure again on later runs (no temp dir)
};

double secs_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void report(const char* name, std::uint64_t events, double secs, const char* note = "") {
  std::printf("%-28s events=%llu seconds=%.2f events_per_s=%.0f %s\n", name, (unsigned long long)events, secs,
              double(events) / secs, note);
  std::fflush(stdout);
}

void generate(engine& e, testing::manual_clock& clk, const args& a) {
  testing::ledger_traffic t(e, clk, 99, "bench");
  auto t0 = std::chrono::steady_clock::now();
  t.setup(a.wallets, 1'000'000'000);
  while (e.head().seq < a.events) t.mixed(1, 8000, 1'000'000);
  report("generate (engine, no sync)", e.head().seq, secs_since(t0));
}

void raw_read(source& src, std::uint64_t last) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<journal_entry> batch;
  std::uint64_t n = 0, bytes = 0;
  for (std::uint64_t next = 1; next <= last; next += batch.size()) {
    // As many events per read as the replay reads: a read that ends inside
    // a journal record re-reads that record next time.
    if (!src.read(next, fold_batch_events, batch) || batch.empty()) break;
    n += batch.size();
    for (const auto& je : batch) bytes += je.event_bytes.size();
  }
  char note[80];
  std::snprintf(note, sizeof note, "(baseline: journal read only, %.0f bytes/event)", double(bytes) / double(n));
  report("raw journal read", n, secs_since(t0), note);
}


void baseline_rebuild(const std::string& store_path, std::uint64_t events) {
  std::unique_ptr<store> st;
  if (!store::open_read_only(store_path, st)) return;
  rebuild_bound b;
  b.seq_max = events;
  rebuilt_state out;
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = rebuild(*st, b, out); !s) return (void)std::printf("rebuild failed: %s\n", s.to_string().c_str());
  report("engine rebuild() (baseline)", out.events, secs_since(t0), "(single thread, std::map state, first events only)");
}

bool replay_to_null(source& src) {
  std::FILE* null_out = std::fopen("/dev/null", "w");
  events_options eo;
  eo.progress_bar = false;
  events_report er;
  auto t0 = std::chrono::steady_clock::now();
  auto s = run_events(src, eo, null_out, er);
  std::fclose(null_out);
  if (!s) return std::printf("replay failed: %s\n", s.to_string().c_str()), false;
  report("replay to /dev/null (NDJSON)", er.read, secs_since(t0));
  return true;
}

bool verify(source& src, const char* name) {
  verify_report vr;
  auto t0 = std::chrono::steady_clock::now();
  auto s = run_verify(src, verify_options{std::nullopt, false}, vr);
  if (!s) return std::printf("%s failed: %s\n", name, s.to_string().c_str()), false;
  char note[80];
  std::snprintf(note, sizeof note, "(%zu checkpoint digests rebuilt and equal)", vr.checkpoints_checked);
  report(name, vr.events, secs_since(t0), note);
  return true;
}

bool state_at_middle(source& src, std::uint64_t last) {
  state_options so;
  so.bound.seq_max = last / 2;
  so.progress_bar = false;
  state_report sr;
  auto t0 = std::chrono::steady_clock::now();
  auto s = run_state(src, so, sr);
  double secs = secs_since(t0);
  if (!s) return std::printf("audit state failed: %s\n", s.to_string().c_str()), false;
  std::printf("%-28s seq=%llu seconds=%.2f from_snapshot=%llu events_folded=%llu balances=%zu target_s=5\n",
              "audit state at the middle", (unsigned long long)sr.head.seq, secs, (unsigned long long)sr.snapshot_seq,
              (unsigned long long)sr.events_folded, sr.summary.balances.size());
  return true;
}

bool archive_round(const args& a, const std::filesystem::path& dir, source& src) {
  auto key = (dir / "signing.pem").string();
  auto path = (dir / "ledger.tar.zst").string();
  if (!signing_key::generate(key)) return false;
  export_report xr;
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = run_export(src, path, std::numeric_limits<std::uint64_t>::max(), key, xr); !s)
    return std::printf("export failed: %s\n", s.to_string().c_str()), false;
  char note[80];
  std::snprintf(note, sizeof note, "(archive %.0f MiB)", double(std::filesystem::file_size(path)) / (1 << 20));
  report("audit export", xr.info.last_seq, secs_since(t0), note);
  if (!a.archive) return true;
  std::unique_ptr<source> arch;
  if (!open_archive(path, arch)) return false;
  return verify(*arch, "audit verify (archive)");
}

int measure(const args& a, const std::filesystem::path& dir) {
  std::unique_ptr<source> src;
  ledger_head head;
  if (auto s = open_data_dir(dir.string(), src); !s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  if (auto s = src->head(head); !s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  raw_read(*src, head.seq);
  baseline_rebuild((dir / "ledger").string(), std::min<std::uint64_t>(head.seq, 1'000'000));
  bool ok = replay_to_null(*src) && verify(*src, "audit verify (data dir)") && state_at_middle(*src, head.seq) &&
            archive_round(a, dir, *src);
  return ok ? 0 : 1;
}

int generate_into(const args& a, const std::filesystem::path& dir) {
  testing::manual_clock clk;
  engine_options o;
  o.store.path = (dir / "ledger").string();
  o.store.sync = false;
  o.clk = &clk;
  o.queue_commands_max = 1u << 17;
  o.snapshot_every_events = a.snapshot_every;
  o.snapshots_retained_max = a.snapshot_retain;
  o.snapshot_keep_every_events = a.snapshot_keep_every;
  o.snapshot_dir = (dir / "snapshots").string();
  std::unique_ptr<engine> e;
  if (auto s = engine::open(o, e); !s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  std::printf("audit_bench: %llu events, %zu wallets, a snapshot every %llu events, data in %s\n",
              (unsigned long long)a.events, a.wallets, (unsigned long long)a.snapshot_every, dir.c_str());
  generate(*e, clk, a);
  checkpoint cp;
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = e->checkpoint(cp); !s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  report("engine checkpoint (digest)", cp.seq, secs_since(t0));
  e->stop();
  return 0;
}

int run(const args& a) {
  std::optional<testing::temp_dir> tmp;
  std::filesystem::path dir = a.keep_dir;
  if (dir.empty()) dir = tmp.emplace("ledger-audit-bench").path();
  std::filesystem::create_directories(dir);
  if (std::filesystem::exists(dir / "ledger")) {
    std::printf("audit_bench: measuring the journal already in %s\n", dir.c_str());
  } else if (int rc = generate_into(a, dir); rc != 0) {
    return rc;
  }
  return measure(a, dir);
}

}  // namespace

int main(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc && f != "--no-archive") {
      std::fprintf(stderr, "usage: audit_bench [--events N] [--wallets N] [--snapshot-every N] [--snapshot-retain N] [--snapshot-keep-every N] [--no-archive] [--keep-dir DIR]\n");
      return 2;
    }
    if (f == "--events") a.events = std::stoull(argv[++i]);
    else if (f == "--wallets") a.wallets = std::stoull(argv[++i]);
    else if (f == "--snapshot-every") a.snapshot_every = std::stoull(argv[++i]);
    else if (f == "--snapshot-retain") a.snapshot_retain = std::stoull(argv[++i]);
    else if (f == "--snapshot-keep-every") a.snapshot_keep_every = std::stoull(argv[++i]);
    else if (f == "--no-archive") a.archive = false;
    else if (f == "--keep-dir") a.keep_dir = argv[++i];
    else return std::fprintf(stderr, "unknown option %s\n", f.c_str()), 2;
  }
  return run(a);
}
