#include "engine/store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>

#include "base/arena_map.h"
#include "engine/chain.h"
#include "schemas/codec.h"

namespace ledger {

namespace {

const std::string head_key = "head";
const std::string ledger_id_key = "ledger_id";
constexpr std::uint8_t journal_batch_version = 1;
constexpr std::uint8_t head_version = 1;

std::string seq_key(std::uint64_t seq) {
  std::string k;
  put_key_u64(k, seq);
  return k;
}

std::string checkpoint_key(std::uint64_t seq) {
  std::string k = "c";
  put_key_u64(k, seq);
  return k;
}

status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return status::ok();
  if (s.IsCorruption()) return status::corruption(what + ": " + s.ToString());
  if (s.IsNotFound()) return status::not_found(what + ": " + s.ToString());
  if (s.IsInvalidArgument()) return status::invalid_argument(what + ": " + s.ToString());
  return status::io_error(what + ": " + s.ToString());
}

std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

}  // namespace

std::string encode_journal_batch(std::uint64_t first_seq, const std::vector<journal_entry>& entries) {
  std::string out;
  std::size_t size = 16;
  for (const auto& e : entries) size += 4 + e.event_bytes.size() + e.chain.size();
  out.reserve(size);
  writer w(out);
  w.u8(journal_batch_version);
  w.u64(first_seq);
  w.u32(static_cast<std::uint32_t>(entries.size()));
  for (const auto& e : entries) {
    LEDGER_ASSERT_EQ(e.seq, first_seq + static_cast<std::uint64_t>(&e - entries.data()), "journal batch must be contiguous");
    w.u32(static_cast<std::uint32_t>(e.event_bytes.size() + e.chain.size()));
    w.raw(e.event_bytes);
    w.raw(std::string_view(reinterpret_cast<const char*>(e.chain.data()), e.chain.size()));
  }
  return out;
}

namespace {

// decode_journal_range into out[filled...]: entries already there are
// decoded over (their buffers reused) and `filled` counts the ones written.
status decode_journal_into(std::string_view bytes, std::uint64_t from_seq, std::size_t max,
                           std::vector<journal_entry>& out, std::size_t& filled, std::uint64_t& first,
                           std::uint32_t& count) {
  reader r(bytes);
  auto version = r.u8();
  first = r.u64();
  count = r.u32();
  if (!r.ok() || version != journal_batch_version) return status::corruption("journal record header malformed");
  // Each entry takes at least 36 bytes, which bounds a corrupted count.
  if (count == 0 || count > r.remaining() / 36) return status::corruption("journal record count malformed");
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t len = r.u32();
    auto rec = r.raw(len);
    if (!r.ok()) return status::corruption("journal record truncated");
    if (rec.size() < hash256{}.size()) return status::corruption("journal record shorter than its chain hash");
    // Only the entries asked for are copied: reading one event of a large
    // batch costs that event, not the batch.
    if (first + i < from_seq || filled >= max) continue;
    if (filled == out.size()) out.emplace_back();
    journal_entry& e = out[filled];
    e.seq = first + i;
    std::string_view ev;
    if (auto s = split_journal_record(rec, ev, e.chain); !s) return s;
    e.event_bytes.assign(ev);
    ++filled;
  }
  if (!r.at_end()) return status::corruption("trailing bytes after journal record");
  return status::ok();
}

}  // namespace

status decode_journal_range(std::string_view bytes, std::uint64_t from_seq, std::size_t max,
                            std::vector<journal_entry>& out, std::uint64_t& first, std::uint32_t& count) {
  std::size_t filled = out.size();
  status s = decode_journal_into(bytes, from_seq, max, out, filled, first, count);
  out.resize(filled);
  return s;
}

status decode_journal_batch(std::string_view bytes, std::vector<journal_entry>& out) {
  std::uint64_t first = 0;
  std::uint32_t count = 0;
  return decode_journal_range(bytes, 0, SIZE_MAX, out, first, count);
}

std::string encode_head(const ledger_head& h) {
  std::string out;
  writer w(out);
  w.u8(head_version);
  w.u64(h.seq);
  w.raw(std::string_view(reinterpret_cast<const char*>(h.chain.data()), h.chain.size()));
  w.i64(h.log_ts_us);
  w.u64(h.input_pos);
  return out;
}

status decode_head(std::string_view bytes, ledger_head& h) {
  reader r(bytes);
  auto v = r.u8();
  h.seq = r.u64();
  auto c = r.raw(32);
  h.log_ts_us = r.i64();
  h.input_pos = r.u64();
  if (!r.ok() || !r.at_end() || v != head_version) return status::corruption("head record malformed");
  std::copy(c.begin(), c.end(), h.chain.begin());
  return status::ok();
}

// The writer's view: this batch's writes over committed data.
class store::batch_kv final : public state_kv {
 public:
  batch_kv(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  std::optional<std::string> get(std::string_view key) override {
    if (const auto* r = overlay_->find(key)) return value_of(*r);
    // Writes of the sealed batch still being committed.
    if (previous_)
      if (const auto* r = previous_->overlay_->find(key)) return value_of(*r);
    if (const auto* r = prefetched_.find(key)) return value_of(*r);
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_, rocksdb::Slice(key.data(), key.size()), &v);
    if (s.IsNotFound()) return std::nullopt;
    // A read error inside apply cannot be turned into a rejection without
    // breaking determinism; the store is unusable, so stop loudly.
    LEDGER_ASSERT(s.ok(), "state read failed: the store is unreadable");
    return v;
  }
  void put(std::string_view key, std::string_view value) override {
    batch.Put(cf_, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
    // Hot records (accounts) are never read back through the kv; only cold
    // ones need the overlay, which keeps it small.
    if (key[0] != 'w') overlay_->set(*overlay_->insert(key).first, value);
  }
  void del(std::string_view key) override {
    batch.Delete(cf_, rocksdb::Slice(key.data(), key.size()));
    overlay_->kill(*overlay_->insert(key).first);  // deleted here: not read through to the store
  }
  void clear() {
    batch.Clear();
    overlay_->clear();
    prefetched_.clear();
  }
  // Reads the committed values of `keys` in one MultiGet, for get() to
  // answer from while this batch is open. Keys this batch or the sealed one
  // wrote are left out: their overlays answer first, and a committed value
  // read while the sealed batch is being written could predate it. `keys`
  // is reordered and cut.
  void prefetch(std::vector<std::string>& keys) {
    std::erase_if(keys, [&](const std::string& k) {
      return overlay_->find(k) || (previous_ && previous_->overlay_->find(k)) || prefetched_.find(k);
    });
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (keys.empty()) return;
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), cf_, keys.size(), slices.data(), values.data(), statuses.data(),
                  /*sorted_input=*/true);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      // A read error is not remembered: get() reads the key again and
      // reports it.
      if (!statuses[i].ok() && !statuses[i].IsNotFound()) continue;
      auto* r = prefetched_.insert(keys[i]).first;  // dead: not in the store
      if (statuses[i].ok()) prefetched_.set(*r, view(values[i]));
    }
  }
  // Moves this batch's writes into `to` and leaves this one empty, reading
  // through `to` until it is dropped. The object itself stays (the writer's
  // state holds a reference to it).
  void move_into(batch_kv& to) {
    to.batch = std::move(batch);
    batch.Clear();
    // The two overlays trade places, so each batch's arena and index are
    // reused rather than allocated anew.
    std::swap(to.overlay_, overlay_);
    overlay_->clear();
    prefetched_.clear();  // read before this batch's writes were committed
    previous_ = &to;
  }

  rocksdb::WriteBatch batch;
  const batch_kv* previous_ = nullptr;  // the sealed batch, read-only while it commits

 private:
  // A record's answer to get(): its value, or none for a dead one.
  static std::optional<std::string> value_of(const arena_map::record& r) {
    return r.live ? std::optional<std::string>(r.value_view()) : std::nullopt;
  }

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  // This batch's writes other than accounts; a dead record is a delete.
  std::unique_ptr<arena_map> overlay_ = std::make_unique<arena_map>();
  // Committed values read ahead (prefetch); a dead record: not in the store.
  arena_map prefetched_;
};

namespace {
struct db_setup {
  rocksdb::Options db;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
};
db_setup make_setup(const store_options& options, bool exists);
}  // namespace

status store::open(const store_options& options, std::unique_ptr<store>& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  bool exists = fs::exists(fs::path(options.path) / "CURRENT", ec);
  if (!exists && !options.create_if_missing) return status::not_found("no ledger at " + options.path);
  if (!exists && fs::exists(options.path, ec) && !fs::is_empty(options.path, ec))
    return status::invalid_argument(options.path + " is not empty and holds no ledger");

  auto setup = make_setup(options, exists);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::unique_ptr<store> s(new store());
  s->options_ = options;
  if (options.file_system) {
    s->env_ = rocksdb::NewCompositeEnv(options.file_system);
    setup.db.env = s->env_.get();
  }
  auto rs = rocksdb::DB::Open(setup.db, options.path, setup.cfs, &handles, &s->db_);
  if (!rs.ok()) return from_rocks(rs, "opening the store at " + options.path);
  s->meta_ = handles[0];
  s->state_ = handles[1];
  s->journal_ = handles[2];
  s->batch_ = std::make_unique<batch_kv>(s->db_, s->state_);
  if (auto st = s->check_consistency(); !st) return st;
  if (auto st = s->adopt_ledger_id(); !st) return st;
  s->head_at_open_ = s->head_.seq;
  out = std::move(s);
  return status::ok();
}

namespace {
db_setup make_setup(const store_options& options, bool exists) {
  db_setup out;
  rocksdb::Options& db_options = out.db;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = !exists;
  db_options.paranoid_checks = true;
  // Only a torn last record of the WAL (a write that never returned, so was
  // never acknowledged) is dropped; damage anywhere else fails the open.
  // kPointInTimeRecovery would stop replay at the first bad record and open
  // anyway, silently dropping every acknowledged batch after it;
  // kAbsoluteConsistency would refuse even a torn tail, which every power
  // loss during a write leaves behind.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.max_background_jobs = 2;
  db_options.max_open_files = 512;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = options.write_buffer_bytes;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kLZ4Compression;
  // Most idempotency lookups are for new keys: a memtable bloom filter
  // answers those misses without walking the skiplist.
  cf_options.memtable_prefix_bloom_size_ratio = 0.1;
  cf_options.memtable_whole_key_filtering = true;
  // Journal keys only grow: bloom filters buy nothing there.
  rocksdb::ColumnFamilyOptions journal_options = cf_options;
  rocksdb::BlockBasedTableOptions journal_table;
  journal_table.block_cache = table.block_cache;
  journal_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(journal_table));

  out.cfs = {{rocksdb::kDefaultColumnFamilyName, cf_options}, {"state", cf_options}, {"journal", journal_options}};
  return out;
}
}  // namespace

status store::open_follower(const std::string& path, const std::string& follower_dir, std::unique_ptr<store>& out) {
  store_options options;
  options.path = path;
  options.block_cache_bytes = 64u << 20;
  auto setup = make_setup(options, true);
  setup.db.max_open_files = -1;  // required of secondary instances
  // Readers of a whole journal (ledgerctl) read table files in place rather
  // than copying each block out of the page cache first: 8% of a replay of
  // 10M events. Table files are never rewritten, only deleted, and a
  // mapping keeps a deleted file readable.
  setup.db.allow_mmap_reads = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::unique_ptr<store> s(new store());
  s->options_ = options;
  s->follower_ = true;
  auto rs = rocksdb::DB::OpenAsSecondary(setup.db, path, follower_dir, setup.cfs, &handles, &s->db_);
  if (!rs.ok()) return from_rocks(rs, "opening the store at " + path + " as a follower");
  s->meta_ = handles[0];
  s->state_ = handles[1];
  s->journal_ = handles[2];
  s->batch_ = std::make_unique<batch_kv>(s->db_, s->state_);
  if (auto st = s->catch_up(); !st) return st;
  out = std::move(s);
  return status::ok();
}

status store::open_read_only(const std::string& path, std::unique_ptr<store>& out) {
  store_options options;
  options.path = path;
  options.block_cache_bytes = 64u << 20;
  auto setup = make_setup(options, true);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::unique_ptr<store> s(new store());
  s->options_ = options;
  s->follower_ = true;  // never written by this process
  s->read_only_ = true;
  auto rs = rocksdb::DB::OpenForReadOnly(setup.db, path, setup.cfs, &handles, &s->db_);
  if (!rs.ok()) return from_rocks(rs, "opening the store at " + path + " read-only");
  s->meta_ = handles[0];
  s->state_ = handles[1];
  s->journal_ = handles[2];
  s->batch_ = std::make_unique<batch_kv>(s->db_, s->state_);
  if (auto st = s->check_consistency(); !st) return st;
  out = std::move(s);
  return status::ok();
}

status store::create_snapshot(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  auto rs = rocksdb::Checkpoint::Create(db_, &raw);
  if (!rs.ok()) return from_rocks(rs, "preparing a snapshot");
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return from_rocks(cp->CreateCheckpoint(dir), "writing a snapshot to " + dir);
}

namespace {
// Copies one column family of `from` (as of `snap`) into `cf` of `to`, in
// write batches of about 4 MiB without the WAL (the copy is flushed after).
status copy_family(rocksdb::DB* from, rocksdb::ColumnFamilyHandle* from_cf, const rocksdb::Snapshot* snap,
                   rocksdb::DB* to, rocksdb::ColumnFamilyHandle* cf) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(from->NewIterator(ro, from_cf));
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  rocksdb::WriteBatch batch;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    batch.Put(cf, it->key(), it->value());
    if (batch.GetDataSize() >= (4u << 20)) {
      if (auto rs = to->Write(wo, &batch); !rs.ok()) return from_rocks(rs, "writing the copy");
      batch.Clear();
    }
  }
  if (!it->status().ok()) return from_rocks(it->status(), "reading the store for a copy");
  if (batch.Count() > 0)
    if (auto rs = to->Write(wo, &batch); !rs.ok()) return from_rocks(rs, "writing the copy");
  return status::ok();
}
}  // namespace

status store::copy_to(const std::string& dir, ledger_head& head) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) return status::invalid_argument(dir + " already exists");
  store_options options;
  options.path = dir;
  auto setup = make_setup(options, false);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto rs = rocksdb::DB::Open(setup.db, dir, setup.cfs, &handles, &raw);
  if (!rs.ok()) return from_rocks(rs, "creating the copy at " + dir);
  std::unique_ptr<rocksdb::DB> to(raw);
  // A follower only moves in catch_up(), which its owner does not call
  // during the copy; secondary instances take no snapshots.
  const rocksdb::Snapshot* snap = follower_ ? nullptr : db_->GetSnapshot();
  status s = status::ok();
  rocksdb::ColumnFamilyHandle* from_cfs[] = {meta_, state_, journal_};
  for (std::size_t i = 0; i < 3 && s; ++i) s = copy_family(db_, from_cfs[i], snap, to.get(), handles[i]);
  if (s) {
    std::string v;
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    auto hs = db_->Get(ro, meta_, head_key, &v);
    s = hs.ok() ? decode_head(v, head) : (hs.IsNotFound() ? status::ok() : from_rocks(hs, "reading the head"));
    if (hs.IsNotFound()) head = {};
  }
  if (snap) db_->ReleaseSnapshot(snap);
  if (s) {
    // Flushed to table files (synced by the flush) since nothing went to the WAL.
    rocksdb::FlushOptions fo;
    fo.wait = true;
    rs = to->Flush(fo, handles);
    if (!rs.ok()) s = from_rocks(rs, "flushing the copy");
  }
  for (auto* h : handles) to->DestroyColumnFamilyHandle(h);
  if (auto cs = to->Close(); s && !cs.ok()) s = from_rocks(cs, "closing the copy");
  return s;
}

status store::catch_up() {
  if (follower_ && !read_only_) {
    auto rs = db_->TryCatchUpWithPrimary();
    if (!rs.ok()) return from_rocks(rs, "catching up with the primary");
  }
  return check_consistency();
}

store::~store() {
  batch_.reset();
  published_.reset();  // releases its snapshot while the DB is open
  if (db_) {
    for (auto* h : {meta_, state_, journal_})
      if (h) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
    delete db_;
  }
}

hash256 store::genesis() const { return genesis_chain(ledger_id_); }

status store::adopt_ledger_id() {
  const auto& want = options_.ledger_id;
  if (want.empty() || want == ledger_id_) return status::ok();
  if (auto why = ledger_id_problem(want); !why.empty()) return status::invalid_argument("ledger id: " + why);
  if (!ledger_id_.empty())
    return status::invalid_argument("the store at " + options_.path + " belongs to ledger \"" + ledger_id_ + "\", not \"" +
                                    want + "\"");
  if (head_.seq != 0)
    return status::invalid_argument("the store at " + options_.path +
                                    " was created without a ledger id and holds events: its chain starts from zero bytes; "
                                    "start it without a ledger id");
  ledger_head h;
  h.chain = genesis_chain(want);
  rocksdb::WriteBatch b;
  b.Put(meta_, ledger_id_key, want);
  b.Put(meta_, head_key, encode_head(h));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto rs = db_->Write(wo, &b); !rs.ok()) return from_rocks(rs, "writing the ledger id");
  ledger_id_ = want;
  head_ = h;
  return status::ok();
}

status store::check_consistency() {
  std::string v;
  if (auto ls = db_->Get(rocksdb::ReadOptions(), meta_, ledger_id_key, &v); ls.ok()) {
    if (auto why = ledger_id_problem(v); !why.empty()) return status::corruption("the stored ledger id " + why);
    ledger_id_ = v;
  } else if (!ls.IsNotFound()) {
    return from_rocks(ls, "reading the ledger id");
  }
  auto rs = db_->Get(rocksdb::ReadOptions(), meta_, head_key, &v);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), journal_));
  it->SeekToLast();
  if (!it->status().ok()) return from_rocks(it->status(), "reading the journal tail");
  if (rs.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> st(db_->NewIterator(rocksdb::ReadOptions(), state_));
    st->SeekToFirst();
    if (it->Valid() || st->Valid()) return status::corruption("the store holds events or state but no head record");
    head_ = ledger_head{};
    head_.chain = genesis();
    return status::ok();
  }
  if (!rs.ok()) return from_rocks(rs, "reading the head");
  if (auto s = decode_head(v, head_); !s) return s;
  if (head_.seq == 0) {
    std::unique_ptr<rocksdb::Iterator> st(db_->NewIterator(rocksdb::ReadOptions(), state_));
    st->SeekToFirst();
    if (it->Valid() || st->Valid()) return status::corruption("head is empty but the journal or state is not");
    if (head_.chain != genesis()) return status::corruption("the empty store's head is not the ledger id's genesis chain");
    return status::ok();
  }
  if (!it->Valid()) return status::corruption("head is at seq " + std::to_string(head_.seq) + " but the journal is empty");
  std::vector<journal_entry> last;
  if (auto s = decode_journal_batch(view(it->value()), last); !s) return status::corruption("last journal record: " + s.message());
  if (it->key().size() != 8 || get_key_u64(view(it->key())) != last.front().seq)
    return status::corruption("the last journal record's key differs from its first seq");
  if (last.back().seq != head_.seq)
    return status::corruption("journal ends at seq " + std::to_string(last.back().seq) + " but the head says " +
                              std::to_string(head_.seq));
  if (last.back().chain != head_.chain) return status::corruption("the last event's chain hash differs from the head's");
  event e;
  if (auto s = decode_event(last.back().event_bytes, e); !s) return status::corruption("last event: " + s.message());
  if (e.seq != head_.seq) return status::corruption("the last event carries another seq than its position");
  return status::ok();
}

status store::load(ledger_state& state) {
  // One iterator per prefix, its status checked before the next: a Seek
  // clears an iterator's error, so a read error while scanning one prefix
  // would otherwise pass for the end of it and leave a partial state.
  for (char prefix : {'a', 'p', 'w', 'c', 's', 'x', 'G', 'L', 'P', 'Q'}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), state_));
    for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next())
      if (auto s = state.load_entry(view(it->key()), view(it->value())); !s) return s;
    if (!it->status().ok())
      return from_rocks(it->status(), std::string("loading state records '") + prefix + "'");
  }
  return status::ok();
}

state_kv& store::writer_kv() { return *batch_; }

void store::prefetch_state(std::vector<std::string>& keys) { batch_->prefetch(keys); }

void store::add_event(std::uint64_t seq, std::string_view event_bytes, const hash256& chain) {
  batch_events_.push_back(journal_entry{seq, std::string(event_bytes), chain});
  writer_last_seq_ = seq;
}

std::optional<event> store::writer_event(std::uint64_t seq) const {
  event e;
  for (const auto* events : {&batch_events_, &sealed_events_}) {
    if (events->empty() || seq < events->front().seq) continue;
    auto i = seq - events->front().seq;
    if (i >= events->size() || !decode_event((*events)[i].event_bytes, e)) return std::nullopt;
    return e;
  }
  if (seq == 0 || seq > std::max(writer_last_seq_, head_at_open_)) return std::nullopt;
  // The writer reads its own commits, released or not.
  std::vector<journal_entry> one;
  auto s = read_records(seq, 1, one, nullptr);
  if (s && (one.empty() || one[0].seq != seq)) s = status::not_found("event " + std::to_string(seq));
  if (s) s = decode_event(one[0].event_bytes, e);
  LEDGER_ASSERT(s.is_ok(), "a committed event could not be read back: the store is damaged");
  return e;
}

void store::hold_reads_for_release() {
  gated_ = true;
  publish();
}

void store::publish() {
  if (!gated_) return;
  rocksdb::DB* db = db_;
  std::shared_ptr<const rocksdb::Snapshot> snap(db_->GetSnapshot(),
                                                [db](const rocksdb::Snapshot* p) { db->ReleaseSnapshot(p); });
  std::lock_guard lock(published_mu_);
  published_ = std::move(snap);
}

std::shared_ptr<const rocksdb::Snapshot> store::read_snapshot() const {
  if (!gated_) return nullptr;
  std::lock_guard lock(published_mu_);
  return published_;
}

std::size_t store::pending_bytes() const { return batch_->batch.GetDataSize(); }

status store::commit(const ledger_head& head) {
  seal(head);
  auto s = commit_sealed();
  drop_sealed();
  return s;
}

void store::seal(const ledger_head& head) {
  LEDGER_ASSERT(!sealed_, "a batch is already sealed");
  if (!batch_events_.empty())
    batch_->batch.Put(journal_, seq_key(batch_events_.front().seq), encode_journal_batch(batch_events_.front().seq, batch_events_));
  batch_->batch.Put(meta_, head_key, encode_head(head));
  sealed_ = spare_ ? std::move(spare_) : std::make_unique<batch_kv>(db_, state_);
  batch_->move_into(*sealed_);
  sealed_events_ = std::move(batch_events_);
  batch_events_.clear();
  sealed_head_ = head;
}

status store::commit_sealed() {
  LEDGER_ASSERT(sealed_ != nullptr, "nothing sealed to commit");
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  // Only the WriteBatch is touched here; the writer reads the sealed
  // overlay meanwhile, which nothing changes.
  auto rs = db_->Write(wo, &sealed_->batch);
  if (!rs.ok()) return from_rocks(rs, "committing a batch");
  head_ = sealed_head_;
  return status::ok();
}

void store::discard() {
  LEDGER_ASSERT(!sealed_, "cannot discard while a batch is sealed");
  batch_->clear();
  batch_events_.clear();
  writer_last_seq_ = head_.seq;
}

void store::drop_sealed() {
  batch_->previous_ = nullptr;
  if (sealed_) {
    sealed_->clear();
    spare_ = std::move(sealed_);  // its overlay's index is sized for the next batch
  }
  sealed_events_.clear();
}

status store::read_records(std::uint64_t from_seq, std::size_t events_max, std::vector<journal_entry>& out,
                           const rocksdb::Snapshot* snap) const {
  // `out`'s entries are decoded over (a reader calling again reuses their
  // buffers); it is cut to the entries read, whatever the outcome.
  std::size_t filled = 0;
  status s = read_records_into(from_seq, events_max, out, filled, snap);
  out.resize(filled);
  return s;
}

status store::read_records_into(std::uint64_t from_seq, std::size_t events_max, std::vector<journal_entry>& out,
                                std::size_t& filled, const rocksdb::Snapshot* snap) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, journal_));
  it->SeekForPrev(seq_key(from_seq));
  if (!it->Valid()) it->SeekToFirst();
  std::uint64_t expect = 0;  // first seq the next record must start at
  for (; it->Valid() && filled < events_max; it->Next()) {
    std::uint64_t first = 0;
    std::uint32_t count = 0;
    if (auto s = decode_journal_into(view(it->value()), from_seq, events_max, out, filled, first, count); !s) return s;
    if (it->key().size() != 8 || get_key_u64(view(it->key())) != first)
      return status::corruption("journal record key differs from its first seq " + std::to_string(first));
    if (expect != 0 && first != expect)
      return status::corruption("journal gap: expected seq " + std::to_string(expect) + ", found " + std::to_string(first));
    if (expect == 0 && first > from_seq && from_seq >= 1)
      return status::corruption("journal gap: expected seq " + std::to_string(from_seq) + ", found " + std::to_string(first));
    expect = first + count;
  }
  return from_rocks(it->status(), "reading the journal");
}

status store::read_journal(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out) const {
  auto snap = read_snapshot();
  return read_records(from_seq, max, out, snap.get());
}

status store::read_event(std::uint64_t seq, journal_entry& out) const {
  std::vector<journal_entry> one;
  auto snap = read_snapshot();
  if (auto s = read_records(seq, 1, one, snap.get()); !s) return s;
  if (one.empty() || one[0].seq != seq) return status::not_found("event " + std::to_string(seq) + " is not in the journal");
  out = std::move(one[0]);
  return status::ok();
}

status store::read_state(std::string_view key, std::string& value) const {
  auto snap = read_snapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  return from_rocks(db_->Get(ro, state_, rocksdb::Slice(key.data(), key.size()), &value), "reading state");
}

status store::scan_state(std::string_view prefix, std::string_view start_after, std::size_t max,
                         std::vector<std::pair<std::string, std::string>>& out) const {
  // Rows already in `out` are assigned over (a caller paging with the same
  // vector keeps its strings' buffers); it is cut to the rows read.
  std::size_t filled = 0;
  auto snap = read_snapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, state_));
  std::string from = start_after.empty() ? std::string(prefix) : std::string(start_after);
  it->Seek(from);
  if (!start_after.empty() && it->Valid() && view(it->key()) == start_after) it->Next();
  for (; it->Valid() && filled < max && view(it->key()).substr(0, prefix.size()) == prefix; it->Next(), ++filled) {
    if (filled == out.size()) out.emplace_back();
    out[filled].first.assign(view(it->key()));
    out[filled].second.assign(view(it->value()));
  }
  out.resize(filled);
  return from_rocks(it->status(), "scanning state");
}

status store::state_digest(checkpoint& out) const {
  // Gated: the published snapshot (released batches only). Else a fresh one.
  auto published = read_snapshot();
  const rocksdb::Snapshot* snap = published ? nullptr : db_->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = published ? published.get() : snap;
  ro.fill_cache = false;
  std::string v;
  auto rs = db_->Get(ro, meta_, head_key, &v);
  ledger_head h;
  status result;
  if (rs.ok()) {
    result = decode_head(v, h);
  } else if (!rs.IsNotFound()) {
    result = from_rocks(rs, "reading the head");
  }
  if (result) {
    digest_builder d;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, state_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) d.add(view(it->key()), view(it->value()));
    result = from_rocks(it->status(), "reading state");
    out = checkpoint{h.seq, h.chain, d.finish()};
  }
  if (snap) db_->ReleaseSnapshot(snap);
  return result;
}

std::string encode_checkpoint_value(const checkpoint& c) {
  std::string v(reinterpret_cast<const char*>(c.chain.data()), 32);
  v.append(reinterpret_cast<const char*>(c.state_digest.data()), 32);
  return v;
}

status decode_checkpoint(std::string_view key, std::string_view value, checkpoint& out) {
  if (key.size() != 9 || key[0] != 'c' || value.size() != 64) return status::corruption("checkpoint record malformed");
  out.seq = get_key_u64(key.substr(1));
  std::copy(value.data(), value.data() + 32, out.chain.begin());
  std::copy(value.data() + 32, value.data() + 64, out.state_digest.begin());
  return status::ok();
}

status store::save_checkpoint(const checkpoint& c) {
  std::string v = encode_checkpoint_value(c);
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return from_rocks(db_->Put(wo, meta_, checkpoint_key(c.seq), v), "saving a checkpoint");
}

status store::load_checkpoints(std::vector<checkpoint>& out) const {
  out.clear();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->Seek("c"); it->Valid() && it->key()[0] == 'c'; it->Next()) {
    checkpoint c;
    if (auto s = decode_checkpoint(view(it->key()), view(it->value()), c); !s) return s;
    out.push_back(c);
  }
  return from_rocks(it->status(), "reading checkpoints");
}

status store::flush() {
  rocksdb::FlushOptions fo;
  return from_rocks(db_->Flush(fo, {meta_, state_, journal_}), "flushing");
}

}  // namespace ledger
