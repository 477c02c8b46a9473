// Damage below the engine: a corrupted write-ahead log, an unreadable state
// block. The store must refuse to open rather than start from less than what
// it acknowledged.
#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>

#include "tests/engine/harness.h"
#include "tests/engine/read_only_store.h"

using namespace ledger;
using namespace ledger::testing;

namespace {

namespace fs = std::filesystem;

// The largest write-ahead log file of the store (the live one).
fs::path wal_file(const fs::path& dir) {
  fs::path best;
  std::uintmax_t best_size = 0;
  for (const auto& f : fs::directory_iterator(dir))
    if (f.path().extension() == ".log" && f.file_size() > best_size) {
      best = f.path();
      best_size = f.file_size();
    }
  REQUIRE_MESSAGE(!best.empty(), "no WAL in " << dir);
  return best;
}

void flip_byte(const fs::path& file, std::uintmax_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// Files of one column family, from RocksDB's own metadata.
std::vector<fs::path> sst_files_of(const std::string& path, const std::string& family) {
  read_only_store store(path);
  std::vector<rocksdb::LiveFileMetaData> files;
  store.db->GetLiveFilesMetaData(&files);
  std::vector<fs::path> out;
  for (const auto& f : files)
    if (f.column_family_name == family) out.push_back(fs::path(f.db_path) / fs::path(f.name).relative_path());
  return out;
}

std::vector<command> register_assets(int n) {
  std::vector<command> cmds;
  for (int i = 0; i < n; ++i) {
    std::string code = "A" + std::to_string(100000 + i);
    cmds.push_back(command{"tester", "asset-" + code, "", register_asset_cmd{code, 2, 1, amount_limit}});
  }
  return cmds;
}

}  // namespace

TEST_CASE("regression: a WAL corrupted in the middle refuses to open instead of dropping acknowledged batches") {
  engine_harness h;
  h.setup_basics();
  auto w = h.open_wallet("alice");
  for (int i = 0; i < 40; ++i) h.fund(w, 1);
  auto acknowledged = h.eng().head().seq;
  h.close();  // the batches stay in the WAL: closing does not flush it into tables
  auto path = h.dir().path() / "ledger";
  auto wal = wal_file(path);
  flip_byte(wal, fs::file_size(wal) / 2);

  std::unique_ptr<store> s;
  store_options o;
  o.path = path.string();
  auto st = store::open(o, s);
  CHECK_MESSAGE(!st.is_ok(), "opened at seq " << (s ? s->head().seq : 0) << " of " << acknowledged);
  CHECK(st.error_code() == status::code::corruption);
}

TEST_CASE("a torn WAL tail (a write that never returned) is dropped and the store opens at the batch before") {
  engine_harness h;
  h.setup_basics();
  auto w = h.open_wallet("alice");
  for (int i = 0; i < 10; ++i) h.fund(w, 1);
  auto acknowledged = h.eng().head().seq;
  h.close();
  auto wal = wal_file(h.dir().path() / "ledger");
  fs::resize_file(wal, fs::file_size(wal) - 7);  // cut into the last record
  h.reopen();
  CHECK(h.eng().head().seq == acknowledged - 1);
  CHECK(h.balance(w, "USD")->posted() == 9);
}

TEST_CASE("regression: a read error while loading one state prefix refuses to open instead of a partial state") {
  engine_harness h;
  // Enough asset records ('a', scanned first) to fill several blocks, then
  // a wallet ('w', scanned last) in a later block.
  for (const auto& o : h.run_all(register_assets(400))) REQUIRE(o.accepted());
  h.must(h.run(open_account_cmd{account_kind::system, "clearing:stripe", {}}));
  h.open_wallet("alice", {{"A100000", 0, 0}});
  REQUIRE(h.eng().storage().flush().is_ok());
  h.close();
  auto path = (h.dir().path() / "ledger").string();
  auto files = sst_files_of(path, "state");
  REQUIRE(files.size() == 1);
  flip_byte(files[0], 40);  // inside the first data block: asset records

  engine_options o;
  o.store.path = path;
  o.clk = &h.clock();
  std::unique_ptr<engine> e;
  auto st = engine::open(o, e);
  CHECK_MESSAGE(!st.is_ok(), "opened with " << (e ? e->account_count() : 0) << " accounts");
  CHECK(st.error_code() == status::code::corruption);
}
