#include "tools/audit/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <simdjson.h>

#include <filesystem>

#include "engine/chain.h"
#include "schemas/event_json.h"

namespace ledger::audit {

namespace {

struct archive* as_archive(void* p) { return static_cast<struct archive*>(p); }

std::string lib_error(void* a, const char* what) {
  const char* e = archive_error_string(as_archive(a));
  return std::string(what) + ": " + (e ? e : "unknown libarchive error");
}

bool parse_hash(std::string_view hex, hash256& out) {
  if (hex.size() != 64) return false;
  for (std::size_t i = 0; i < 32; ++i) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

status manifest_field(simdjson::dom::object& o, const char* key, std::string& out) {
  std::string_view v;
  if (o[key].get(v) != simdjson::SUCCESS) return status::corruption(std::string("manifest: ") + key + " missing or not a string");
  out.assign(v);
  return status::ok();
}

status manifest_field(simdjson::dom::object& o, const char* key, std::uint64_t& out) {
  if (o[key].get(out) != simdjson::SUCCESS) return status::corruption(std::string("manifest: ") + key + " missing or not an integer");
  return status::ok();
}

status decode_checkpoints(simdjson::dom::object& o, std::vector<checkpoint>& out) {
  simdjson::dom::array arr;
  if (o["checkpoints"].get(arr) != simdjson::SUCCESS) return status::corruption("manifest: checkpoints missing");
  if (arr.size() > checkpoints_max) return status::corruption("manifest: too many checkpoints");
  for (auto item : arr) {
    simdjson::dom::object c;
    if (item.get(c) != simdjson::SUCCESS) return status::corruption("manifest: a checkpoint is not an object");
    checkpoint cp;
    std::string chain, digest;
    if (auto s = manifest_field(c, "seq", cp.seq); !s) return s;
    if (auto s = manifest_field(c, "chain", chain); !s) return s;
    if (auto s = manifest_field(c, "state_digest", digest); !s) return s;
    if (!parse_hash(chain, cp.chain) || !parse_hash(digest, cp.state_digest))
      return status::corruption("manifest: checkpoint " + std::to_string(cp.seq) + " has a malformed hash");
    out.push_back(cp);
  }
  return status::ok();
}

}  // namespace

std::string encode_manifest(const manifest& m) {
  std::string o = "{\n  \"format\": \"ledger-audit-archive\",\n  \"version\": " + std::to_string(m.version) + ",\n";
  o += "  \"ledger_id\": \"" + m.ledger_id + "\",\n";
  o += "  \"first_seq\": " + std::to_string(m.first_seq) + ",\n";
  o += "  \"last_seq\": " + std::to_string(m.last_seq) + ",\n";
  o += "  \"chain_head\": \"" + m.chain_head + "\",\n";
  o += "  \"last_log_time_us\": " + std::to_string(m.last_log_ts_us) + ",\n";
  o += "  \"segment_events_max\": " + std::to_string(segment_events_max) + ",\n";
  o += "  \"public_key\": \"" + m.public_key + "\",\n";
  o += "  \"checkpoints\": [";
  for (std::size_t i = 0; i < m.checkpoints.size(); ++i) {
    const auto& c = m.checkpoints[i];
    o += i ? ",\n    " : "\n    ";
    o += "{\"seq\": " + std::to_string(c.seq) + ", \"chain\": \"" + to_hex(c.chain) + "\", \"state_digest\": \"" +
         to_hex(c.state_digest) + "\"}";
  }
  o += m.checkpoints.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return o;
}

status decode_manifest(std::string_view json, manifest& out) {
  if (json.size() > manifest_bytes_max) return status::corruption("manifest larger than its limit");
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(json.data(), json.size()).get(o) != simdjson::SUCCESS) return status::corruption("manifest is not JSON");
  std::string format;
  std::uint64_t version = 0;
  if (auto s = manifest_field(o, "format", format); !s) return s;
  if (auto s = manifest_field(o, "version", version); !s) return s;
  if (format != "ledger-audit-archive" || version != archive_format_version)
    return status::corruption("manifest: not a version " + std::to_string(archive_format_version) + " ledger audit archive");
  out = manifest{};
  std::uint64_t ts = 0;
  if (auto s = manifest_field(o, "ledger_id", out.ledger_id); !s) return s;
  if (auto s = manifest_field(o, "first_seq", out.first_seq); !s) return s;
  if (auto s = manifest_field(o, "last_seq", out.last_seq); !s) return s;
  if (auto s = manifest_field(o, "chain_head", out.chain_head); !s) return s;
  if (auto s = manifest_field(o, "public_key", out.public_key); !s) return s;
  if (o["last_log_time_us"].get(ts) == simdjson::SUCCESS) out.last_log_ts_us = static_cast<std::int64_t>(ts);
  if (out.first_seq != 1 || out.last_seq < out.first_seq) return status::corruption("manifest: seq range malformed");
  if (!out.ledger_id.empty())
    if (auto why = ledger_id_problem(out.ledger_id); !why.empty()) return status::corruption("manifest: the ledger id " + why);
  return decode_checkpoints(o, out.checkpoints);
}

// --- writer ------------------------------------------------------------

status archive_writer::open(const std::string& path, std::unique_ptr<archive_writer>& out) {
  std::unique_ptr<archive_writer> w(new archive_writer());
  w->path_ = path;
  w->tmp_ = path + ".partial";
  w->a_ = archive_write_new();
  if (!w->a_) return status::io_error("libarchive: out of memory");
  if (archive_write_add_filter_zstd(as_archive(w->a_)) != ARCHIVE_OK) return status::io_error(lib_error(w->a_, "zstd filter"));
  if (archive_write_set_format_pax_restricted(as_archive(w->a_)) != ARCHIVE_OK) return status::io_error(lib_error(w->a_, "tar format"));
  if (archive_write_open_filename(as_archive(w->a_), w->tmp_.c_str()) != ARCHIVE_OK)
    return status::io_error(lib_error(w->a_, ("creating " + w->tmp_).c_str()));
  out = std::move(w);
  return status::ok();
}

archive_writer::~archive_writer() {
  if (a_) archive_write_free(as_archive(a_));
  if (!finished_ && !tmp_.empty()) {
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

status archive_writer::add(const std::string& name, std::string_view bytes) {
  LEDGER_ASSERT(bytes.size() <= member_bytes_max, "archive member over its limit");
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  int r = archive_write_header(as_archive(a_), e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) return status::io_error(lib_error(a_, "writing a member header"));
  if (archive_write_data(as_archive(a_), bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
    return status::io_error(lib_error(a_, ("writing " + name).c_str()));
  return status::ok();
}

status archive_writer::finish() {
  if (archive_write_close(as_archive(a_)) != ARCHIVE_OK) return status::io_error(lib_error(a_, "closing the archive"));
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) return status::io_error("moving the archive into place: " + ec.message());
  finished_ = true;
  return status::ok();
}

// --- reader ------------------------------------------------------------

status archive_reader::open(const std::string& path, std::unique_ptr<archive_reader>& out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return status::not_found("no archive at " + path);
  std::unique_ptr<archive_reader> r(new archive_reader());
  r->a_ = archive_read_new();
  if (!r->a_) return status::io_error("libarchive: out of memory");
  archive_read_support_filter_zstd(as_archive(r->a_));
  archive_read_support_format_tar(as_archive(r->a_));
  if (archive_read_open_filename(as_archive(r->a_), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return status::corruption("seq 1: " + lib_error(r->a_, ("archive truncated or damaged: " + path).c_str()));
  std::string name;
  bool found = false;
  if (auto s = r->next_member(name, r->manifest_bytes_, found); !s) return s;
  if (!found || name != "manifest.json") return status::corruption("the archive does not start with manifest.json");
  if (auto s = decode_manifest(r->manifest_bytes_, r->manifest_); !s) return s;
  if (auto s = r->next_member(name, r->signature_, found); !s) return s;
  if (!found || name != "manifest.sig") return status::corruption("the archive has no manifest.sig after the manifest");
  out = std::move(r);
  return status::ok();
}

archive_reader::~archive_reader() {
  if (a_) archive_read_free(as_archive(a_));
}

status archive_reader::next_member(std::string& name, std::string& bytes, bool& found) {
  archive_entry* e = nullptr;
  found = false;
  int r = archive_read_next_header(as_archive(a_), &e);
  // Directory entries (as tar -c adds for journal/) carry nothing.
  while (r == ARCHIVE_OK && archive_entry_filetype(e) == AE_IFDIR) r = archive_read_next_header(as_archive(a_), &e);
  if (r == ARCHIVE_EOF) return status::ok();
  if (r != ARCHIVE_OK) return status::corruption(lib_error(a_, "archive truncated or damaged"));
  name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
  auto size = archive_entry_size(e);
  if (size < 0 || static_cast<std::uint64_t>(size) > member_bytes_max)
    return status::corruption("archive member " + name + " is larger than its limit");
  bytes.resize(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < bytes.size()) {
    auto n = archive_read_data(as_archive(a_), bytes.data() + got, bytes.size() - got);
    if (n <= 0) return status::corruption(lib_error(a_, ("archive truncated or damaged in " + name).c_str()));
    got += static_cast<std::size_t>(n);
  }
  found = true;
  return status::ok();
}

status archive_reader::next_segment() {
  std::string name, bytes;
  bool found = false;
  segment_.clear();
  segment_pos_ = 0;
  auto at = " (after seq " + std::to_string(next_seq_ - 1) + ")";
  if (auto s = next_member(name, bytes, found); !s) return status::corruption(s.message() + at);
  if (!found) {
    ended_ = true;
    return status::ok();
  }
  if (name.rfind("journal/", 0) != 0) return status::corruption("unexpected archive member " + name + at);
  if (auto s = decode_journal_batch(bytes, segment_); !s) return status::corruption("segment " + name + ": " + s.message() + at);
  std::string expect = segment_name(segment_.front().seq);
  if (name != expect) return status::corruption("segment " + name + " holds events from seq " + std::to_string(segment_.front().seq));
  return status::ok();
}

status archive_reader::read(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out) {
  out.clear();
  if (from_seq == 0) from_seq = 1;
  if (from_seq < next_seq_) return status::invalid_argument("an archive is read forward only");
  while (out.size() < max && !ended_) {
    if (segment_pos_ >= segment_.size()) {
      if (auto s = next_segment(); !s) return out.empty() ? s : status::ok();
      continue;
    }
    auto& e = segment_[segment_pos_++];
    if (e.seq < from_seq) continue;
    next_seq_ = e.seq + 1;
    out.push_back(std::move(e));
  }
  return status::ok();
}

std::string segment_name(std::uint64_t first_seq) {
  std::string digits = std::to_string(first_seq);
  return "journal/" + std::string(20 - digits.size(), '0') + digits;
}

}  // namespace ledger::audit
