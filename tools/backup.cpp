// ledgerd backup and restore.
//
// backup --to DIR: a consistent copy of the ledger's store, taken through a
// RocksDB follower beside the running ledger (or of a stopped one), at a
// batch boundary, into DIR/seq-<20-digit head seq>/ledger with a
// manifest.json (ledger head: seq, chain hash; state digest; time; sizes).
// The copy is verified (reopened, digest computed from the copy itself)
// before it gets its final name; the newest --keep backups are kept.
//
// restore --from DIR --data-dir NEW: checks a backup against its manifest
// (head and state digest; and unless --quick, every chain link and the
// digest again by rebuilding the state from the journal), then copies it to
// NEW, which must hold no ledger. `ledgerd serve --data-dir NEW` then starts
// at exactly the backed-up state.
#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/json_out.h"
#include "engine/engine.h"
#include "engine/rebuild.h"
#include "tools/ledgerd.h"

namespace ledger::tools {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t manifest_bytes_max = 64u << 10;

struct backup_manifest {
  std::uint64_t seq = 0;
  std::string chain;         // hex
  std::string state_digest;  // hex
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// fsyncs a file or a directory (so a rename or a new file in it is durable).
void sync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) die("syncing " + p.string());
  ::close(fd);
}

void sync_tree(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) sync_path(e.path());
  sync_path(dir);
}

std::uint64_t tree_bytes(const fs::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

std::string encode(const backup_manifest& m, std::uint64_t bytes) {
  json_out j;
  j.begin_object()
      .field("format", "ledger-backup")
      .field("version", 1)
      .field("seq", m.seq)
      .field("chain", m.chain)
      .field("state_digest", m.state_digest)
      .field("created_at_unix_s", static_cast<std::int64_t>(std::time(nullptr)))
      .field("bytes", bytes)
      .end_object();
  return j.take();
}

status decode(const std::string& json, backup_manifest& m) {
  if (json.size() > manifest_bytes_max) return status::corruption("manifest.json is larger than its limit");
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(json.data(), json.size()).get(o) != simdjson::SUCCESS)
    return status::corruption("manifest.json is not JSON");
  std::string_view format, chain, digest;
  std::uint64_t version = 0;
  if (o["format"].get(format) != simdjson::SUCCESS || format != "ledger-backup" ||
      o["version"].get(version) != simdjson::SUCCESS || version != 1)
    return status::corruption("manifest.json: not a version 1 ledger backup");
  if (o["seq"].get(m.seq) != simdjson::SUCCESS) return status::corruption("manifest.json: seq missing");
  if (o["chain"].get(chain) != simdjson::SUCCESS || chain.size() != 64)
    return status::corruption("manifest.json: chain missing or not 64 hex digits");
  if (o["state_digest"].get(digest) != simdjson::SUCCESS || digest.size() != 64)
    return status::corruption("manifest.json: state_digest missing or not 64 hex digits");
  m.chain.assign(chain);
  m.state_digest.assign(digest);
  return status::ok();
}

// The copy's own head and digest, from the copy (not from the source).
backup_manifest verify_copy(const std::string& store_dir) {
  std::unique_ptr<store> copy;
  if (auto s = store::open_read_only(store_dir, copy); !s) die("reopening the copy: " + s.to_string());
  checkpoint cp;
  if (auto s = copy->state_digest(cp); !s) die("digest of the copy: " + s.to_string());
  return {cp.seq, to_hex(cp.chain), to_hex(cp.state_digest)};
}

// Keeps the newest `keep` backups under `root`.
void prune(const fs::path& root, std::size_t keep) {
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(root))
    if (snapshot_seq_of(e.path().filename().string()) != 0) all.push_back(e.path());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i + keep < all.size(); ++i) {
    fs::remove_all(all[i]);
    std::fprintf(stderr, "ledgerd backup: removed %s (keeping %zu)\n", all[i].c_str(), keep);
  }
}

}  // namespace

int run_backup(const config& cfg) {
  auto t0 = std::chrono::steady_clock::now();
  fs::path root(cfg.backup_to);
  fs::create_directories(root);
  fs::path tmp = root / (".tmp-" + std::to_string(::getpid()));
  fs::path follower_dir = fs::path(cfg.data_dir) / "followers" / ("backup-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fs::create_directories(follower_dir);
  ledger_head head;
  {
    std::unique_ptr<store> source;
    if (auto s = store::open_follower(store_path(cfg), follower_dir.string(), source); !s)
      die("opening the ledger at " + store_path(cfg) + ": " + s.to_string());
    if (auto s = source->copy_to((tmp / "ledger").string(), head); !s) die("copying the store: " + s.to_string());
  }
  fs::remove_all(follower_dir);
  backup_manifest m = verify_copy((tmp / "ledger").string());
  if (m.seq != head.seq || m.chain != to_hex(head.chain)) die("the copy's head differs from the source's");
  std::uint64_t bytes = tree_bytes(tmp);
  std::ofstream(tmp / "manifest.json") << encode(m, bytes) << "\n";
  sync_tree(tmp);
  fs::path final_dir = root / snapshot_name(m.seq);
  if (fs::exists(final_dir)) {
    fs::remove_all(tmp);
    std::fprintf(stderr, "ledgerd backup: %s already holds seq %llu (nothing committed since)\n", final_dir.c_str(),
                 static_cast<unsigned long long>(m.seq));
  } else {
    fs::rename(tmp, final_dir);
    sync_path(root);
  }
  prune(root, cfg.backup_keep);
  json_out j;
  j.begin_object().field("backup", final_dir.string()).field("seq", m.seq).field("chain", m.chain);
  j.field("state_digest", m.state_digest).field("bytes", bytes).key("seconds").raw(std::to_string(seconds_since(t0)));
  std::printf("%s\n", j.end_object().take().c_str());
  return 0;
}

namespace {

// The backup to restore: `from` itself, or the newest backup under it.
fs::path pick_backup(const fs::path& from) {
  if (fs::exists(from / "manifest.json")) return from;
  fs::path newest;
  if (fs::is_directory(from))
    for (const auto& e : fs::directory_iterator(from))
      if (snapshot_seq_of(e.path().filename().string()) != 0 && e.path() > newest) newest = e.path();
  if (newest.empty()) die(from.string() + " is neither a backup (no manifest.json) nor a directory of backups");
  return newest;
}

void check_against_manifest(const fs::path& dir, bool quick) {
  std::ifstream in(dir / "manifest.json");
  std::string json((std::istreambuf_iterator<char>(in)), {});
  backup_manifest want;
  if (auto s = decode(json, want); !s) die(dir.string() + ": " + s.to_string());
  backup_manifest got = verify_copy((dir / "ledger").string());
  if (got.seq != want.seq || got.chain != want.chain)
    die(dir.string() + ": the store's head (seq " + std::to_string(got.seq) + ") differs from the manifest's (seq " +
        std::to_string(want.seq) + ")");
  if (got.state_digest != want.state_digest) die(dir.string() + ": the state digest differs from the manifest's");
  if (quick) return;
  std::unique_ptr<store> copy;
  if (auto s = store::open_read_only((dir / "ledger").string(), copy); !s) die(s.to_string());
  rebuilt_state r;
  if (auto s = rebuild(*copy, {}, r); !s) die(dir.string() + ": the journal does not verify: " + s.to_string());
  if (to_hex(r.digest) != want.state_digest)
    die(dir.string() + ": the state rebuilt from the journal differs from the stored state");
}

}  // namespace

int run_restore(const config& cfg) {
  auto t0 = std::chrono::steady_clock::now();
  fs::path from = pick_backup(cfg.restore_from);
  fs::path target(store_path(cfg));
  std::error_code ec;
  if (fs::exists(target, ec) && !fs::is_empty(target, ec))
    die(target.string() + " already holds a ledger: restore into a new --data-dir");
  check_against_manifest(from, cfg.restore_quick);
  fs::create_directories(target.parent_path());
  fs::path tmp = target.parent_path() / ".restore-tmp";
  fs::remove_all(tmp);
  fs::copy(from / "ledger", tmp, fs::copy_options::recursive);
  sync_tree(tmp);
  fs::remove(target, ec);  // an empty directory, if any
  fs::rename(tmp, target);
  sync_path(target.parent_path());
  std::unique_ptr<store> restored;
  store_options o;
  o.path = target.string();
  o.create_if_missing = false;
  if (auto s = store::open(o, restored); !s) die("opening the restored ledger: " + s.to_string());
  json_out j;
  j.begin_object().field("restored", target.string()).field("from", from.string()).field("seq", restored->head().seq);
  j.field("chain", to_hex(restored->head().chain)).key("seconds").raw(std::to_string(seconds_since(t0)));
  std::printf("%s\n", j.end_object().take().c_str());
  return 0;
}

}  // namespace ledger::tools
