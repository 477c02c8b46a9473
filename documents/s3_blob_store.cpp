// The S3 blob store: keys, the multipart writer, the ranged reader, listing
// for the sweeper. The transport is documents/s3_http.h.
#include "documents/s3_blob_store.h"
#include "base/hex.h"

#include <openssl/rand.h>

#include <ctime>
#include <vector>

#include "documents/s3_http.h"

namespace ledger::documents {

namespace {

constexpr std::size_t parts_max = 10'000;
constexpr std::size_t list_body_max = 8u << 20;
constexpr std::size_t list_page_keys = 1000;

bool ok_status(unsigned s) { return s == 200 || s == 204 || s == 206; }

status failed(const std::string& what, const s3_http_response& res) {
  std::string m = "S3 " + what + ": " + res.describe();
  if (res.status == 404) return status::not_found(m);
  if (res.status >= 500 || res.status == 429) return status::unavailable(m);
  return status::io_error(m);
}

// "2026-12-01T03:04:05.000Z" → Unix seconds; 0 when unreadable.
std::int64_t parse_iso_time(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

struct s3_blob_store::impl {
  s3_settings s;
  std::shared_ptr<s3_tls> tls;
  std::unique_ptr<s3_connection> connection() const { return std::make_unique<s3_connection>(s, tls); }
  void add_encryption(std::vector<std::pair<std::string, std::string>>& h) const {
    if (s.provider_encryption) h.emplace_back("x-amz-server-side-encryption", "AES256");
  }
};

std::optional<std::string> check_s3_settings(const s3_settings& s) {
  bool https = s.endpoint.rfind("https://", 0) == 0;
  if (!https && s.endpoint.rfind("http://", 0) != 0) return "--s3-endpoint: must start with http:// or https://, not " + s.endpoint;
  std::string rest = s.endpoint.substr(https ? 8 : 7);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string::npos)
    return "--s3-endpoint: expected http(s)://HOST[:PORT] without a path, got " + s.endpoint;
  auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
        std::stoul(port) > 65535)
      return "--s3-endpoint: the port must be 1 to 65535, got " + port;
  }
  if (s.bucket.size() < 3 || s.bucket.size() > 63 || s.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos)
    return "--s3-bucket: 3 to 63 lower-case letters, digits, '.' or '-', got \"" + s.bucket + "\"";
  if (s.region.empty() || s.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    return "--s3-region: lower-case letters, digits and '-', got \"" + s.region + "\"";
  if (!s.prefix.empty() && (s.prefix.back() != '/' || s.prefix.size() > 256 || s.prefix[0] == '/'))
    return "--s3-prefix: empty, or at most 256 characters ending in '/' (not starting with one), got \"" + s.prefix + "\"";
  if (s.credentials.access_key.empty() || s.credentials.access_key.size() > 128 ||
      s.credentials.access_key.find_first_of("/ \n\r\t") != std::string::npos)
    return "--s3-access-key-file: the key must be 1 to 128 characters without '/' or blanks";
  if (s.credentials.secret_key.empty() || s.credentials.secret_key.size() > 256)
    return "--s3-secret-key-file: the key must be 1 to 256 bytes";
  if (s.timeout_ms < 1 || s.part_bytes < (5u << 20) || s.read_chunk_bytes < 1) return "S3 limits out of range";
  return std::nullopt;
}

s3_target s3_target_of(const s3_settings& s, std::string_view key) {
  s3_target t;
  t.tls = s.endpoint.rfind("https://", 0) == 0;
  std::string hostport = s.endpoint.substr(t.tls ? 8 : 7);
  auto colon = hostport.rfind(':');
  t.connect_host = hostport.substr(0, colon);
  t.port = colon == std::string::npos ? (t.tls ? "443" : "80") : hostport.substr(colon + 1);
  std::string encoded = uri_encode(key, true);
  if (s.virtual_host) {
    t.connect_host = s.bucket + "." + t.connect_host;
    t.host_header = s.bucket + "." + hostport;
    t.path = "/" + encoded;
  } else {
    t.host_header = hostport;
    t.path = "/" + s.bucket + (key.empty() ? "" : "/" + encoded);
  }
  return t;
}

namespace {

// Buffers up to part_bytes; beyond, a multipart upload to a temporary key.
class s3_writer final : public blob_writer {
 public:
  explicit s3_writer(const s3_blob_store::impl& store) : store_(store), conn_(store.connection()) {
    buffer_.reserve(store.s.part_bytes);
  }
  ~s3_writer() override {
    if (committed_) return;
    // Best effort: what is left is listed (tmp/) or expires by lifecycle.
    s3_http_response res;
    if (!upload_id_.empty()) {
      s3_http_request r{"DELETE", tmp_key_, {{"uploadId", upload_id_}}, {}, "", false};
      (void)conn_->send(r, res);
    }
    if (tmp_complete_) {
      s3_http_request r{"DELETE", tmp_key_, {}, {}, "", false};
      (void)conn_->send(r, res);
    }
  }
  status write(std::string_view bytes) override {
    sha_.update(bytes);
    while (!bytes.empty()) {
      std::size_t n = std::min(bytes.size(), store_.s.part_bytes - buffer_.size());
      buffer_.append(bytes.data(), n);
      bytes.remove_prefix(n);
      if (buffer_.size() == store_.s.part_bytes)
        if (auto st = flush_part(); !st) return st;
    }
    return status::ok();
  }
  status commit(std::string& id) override {
    id = sha_.finish();
    std::string key = store_.s.prefix + "blobs/" + id;
    if (upload_id_.empty()) {
      s3_http_request r{"PUT", key, {}, {{"content-type", "application/octet-stream"}}, std::move(buffer_), false};
      store_.add_encryption(r.headers);
      s3_http_response res;
      if (auto st = conn_->send(r, res); !st) return st;
      if (res.status != 200) return failed("PUT " + key, res);
      committed_ = true;
      return status::ok();
    }
    if (!buffer_.empty())
      if (auto st = flush_part(); !st) return st;
    if (auto st = complete(); !st) return st;
    if (auto st = copy_to(key); !st) return st;
    committed_ = true;
    s3_http_request r{"DELETE", tmp_key_, {}, {}, "", false};
    s3_http_response res;
    (void)conn_->send(r, res);  // a leftover temporary object is the sweeper's
    return status::ok();
  }

 private:
  status start() {
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return status::unavailable("no randomness for a temporary key");
    tmp_key_ = store_.s.prefix + "tmp/" + hex_lower(rnd, sizeof rnd);
    s3_http_request r{"POST", tmp_key_, {{"uploads", ""}}, {{"content-type", "application/octet-stream"}}, "", false};
    store_.add_encryption(r.headers);
    s3_http_response res;
    if (auto st = conn_->send(r, res); !st) return st;
    if (res.status != 200) return failed("start a multipart upload", res);
    auto ids = xml_values(res.body, "UploadId");
    if (ids.empty() || ids[0].empty()) return status::io_error("S3 multipart upload: no UploadId in the answer");
    upload_id_ = ids[0];
    return status::ok();
  }
  status flush_part() {
    if (upload_id_.empty())
      if (auto st = start(); !st) return st;
    if (etags_.size() >= parts_max) return status::invalid_argument("S3: a blob of more than 10,000 parts");
    std::string n = std::to_string(etags_.size() + 1);
    s3_http_request r{"PUT", tmp_key_, {{"partNumber", n}, {"uploadId", upload_id_}}, {}, std::move(buffer_), false};
    s3_http_response res;
    if (auto st = conn_->send(r, res); !st) return st;
    if (res.status != 200) return failed("PUT part " + n, res);
    etags_.push_back(res.header("etag"));
    buffer_.clear();
    buffer_.reserve(store_.s.part_bytes);
    return status::ok();
  }
  status complete() {
    std::string xml = "<CompleteMultipartUpload>";
    for (std::size_t i = 0; i < etags_.size(); ++i)
      xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags_[i] + "</ETag></Part>";
    xml += "</CompleteMultipartUpload>";
    s3_http_request r{"POST", tmp_key_, {{"uploadId", upload_id_}}, {{"content-type", "application/xml"}}, std::move(xml), false};
    s3_http_response res;
    if (auto st = conn_->send(r, res); !st) return st;
    // S3 may answer 200 with an error in the body.
    if (res.status != 200 || res.body.find("<Error>") != std::string::npos) return failed("complete a multipart upload", res);
    upload_id_.clear();
    tmp_complete_ = true;
    return status::ok();
  }
  status copy_to(const std::string& key) {
    std::string source = "/" + store_.s.bucket + "/" + uri_encode(tmp_key_, true);
    s3_http_request r{"PUT", key, {}, {{"x-amz-copy-source", source}}, "", false};
    store_.add_encryption(r.headers);
    s3_http_response res;
    if (auto st = conn_->send(r, res); !st) return st;
    if (res.status != 200 || res.body.find("<Error>") != std::string::npos) return failed("copy to " + key, res);
    return status::ok();
  }

  const s3_blob_store::impl& store_;
  std::unique_ptr<s3_connection> conn_;
  blob_hasher sha_;
  std::string buffer_;  // at most part_bytes
  std::string tmp_key_, upload_id_;
  std::vector<std::string> etags_;
  bool tmp_complete_ = false, committed_ = false;
};

// Ranged GETs of read_chunk_bytes, served from a window.
class s3_reader final : public blob_reader {
 public:
  s3_reader(const s3_blob_store::impl& store, std::string key, std::uint64_t size, std::unique_ptr<s3_connection> c)
      : store_(store), key_(std::move(key)), size_(size), conn_(std::move(c)) {}
  status read(std::size_t max, std::string& out) override {
    out.clear();
    if (window_at_ >= window_.size()) {
      if (offset_ >= size_) return status::ok();
      if (auto st = fetch(); !st) return st;
    }
    std::size_t n = std::min(max, window_.size() - window_at_);
    out.assign(window_, window_at_, n);
    window_at_ += n;
    return status::ok();
  }
  std::uint64_t size() const override { return size_; }

 private:
  status fetch() {
    std::uint64_t last = std::min<std::uint64_t>(size_, offset_ + store_.s.read_chunk_bytes) - 1;
    std::string range = "bytes=" + std::to_string(offset_) + "-" + std::to_string(last);
    s3_http_request r{"GET", key_, {}, {{"range", range}}, "", false, static_cast<std::size_t>(last - offset_ + 1)};
    s3_http_response res;
    if (auto st = conn_->send(r, res); !st) return st;
    if (res.status != 206 && !(res.status == 200 && offset_ == 0 && last + 1 == size_)) return failed("GET " + key_ + " " + range, res);
    if (res.body.size() != last - offset_ + 1)
      return status::corruption("S3 GET " + key_ + " " + range + ": " + std::to_string(res.body.size()) + " bytes");
    window_ = std::move(res.body);
    window_at_ = 0;
    offset_ = last + 1;
    return status::ok();
  }

  const s3_blob_store::impl& store_;
  std::string key_;
  std::uint64_t size_;
  std::unique_ptr<s3_connection> conn_;
  std::string window_;  // at most read_chunk_bytes
  std::size_t window_at_ = 0;
  std::uint64_t offset_ = 0;
};

}  // namespace

std::unique_ptr<s3_blob_store> s3_blob_store::make(const s3_settings& s, status& st) {
  if (auto e = check_s3_settings(s)) {
    st = status::invalid_argument(*e);
    return nullptr;
  }
  auto p = std::make_unique<impl>();
  p->s = s;
  if (s3_target_of(s, "").tls) {
    p->tls = make_s3_tls(s, st);
    if (!st) return nullptr;
  }
  st = status::ok();
  return std::unique_ptr<s3_blob_store>(new s3_blob_store(std::move(p)));
}

s3_blob_store::s3_blob_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
s3_blob_store::~s3_blob_store() = default;
const s3_settings& s3_blob_store::settings() const { return impl_->s; }

status s3_blob_store::create(std::unique_ptr<blob_writer>& out) {
  out = std::make_unique<s3_writer>(*impl_);
  return status::ok();
}

status s3_blob_store::open(std::string_view id, std::unique_ptr<blob_reader>& out) {
  if (!valid_blob_id(id)) return status::invalid_argument("not a blob id");
  auto conn = impl_->connection();
  std::string key = key_of(id);
  s3_http_request r{"HEAD", key, {}, {}, "", true};
  s3_http_response res;
  if (auto st = conn->send(r, res); !st) return st;
  if (res.status == 404) return status::not_found("no such blob");
  if (res.status != 200) return failed("HEAD " + key, res);
  std::string len = res.header("content-length");
  if (len.empty() || len.size() > 19 || len.find_first_not_of("0123456789") != std::string::npos)
    return status::io_error("S3 HEAD " + key + ": no usable Content-Length");
  out = std::make_unique<s3_reader>(*impl_, key, std::stoull(len), std::move(conn));
  return status::ok();
}

status s3_blob_store::remove(std::string_view id) {
  if (!valid_blob_id(id)) return status::invalid_argument("not a blob id");
  s3_http_request r{"DELETE", key_of(id), {}, {}, "", false};
  s3_http_response res;
  if (auto st = impl_->connection()->send(r, res); !st) return st;
  return ok_status(res.status) || res.status == 404 ? status::ok() : failed("DELETE " + r.key, res);
}

status s3_blob_store::remove_temporary(const blob_entry& e) {
  if (e.path.rfind(impl_->s.prefix + "tmp/", 0) != 0) return status::invalid_argument("not a temporary object of this store");
  s3_http_request r{"DELETE", e.path, {}, {}, "", false};
  s3_http_response res;
  if (auto st = impl_->connection()->send(r, res); !st) return st;
  return ok_status(res.status) || res.status == 404 ? status::ok() : failed("DELETE " + e.path, res);
}

status s3_blob_store::check_access() {
  s3_http_request r{"HEAD", "", {}, {}, "", true};
  s3_http_response res;
  if (auto st = impl_->connection()->send(r, res); !st) return st;
  return res.status == 200 ? status::ok() : failed("HEAD bucket " + impl_->s.bucket, res);
}

status s3_blob_store::list(std::size_t max, const std::function<bool(const blob_entry&)>& each) {
  auto conn = impl_->connection();
  const std::string& prefix = impl_->s.prefix;
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::string token;
  std::size_t n = 0;
  for (;;) {
    s3_http_request r{"GET", "", {{"list-type", "2"}, {"max-keys", std::to_string(list_page_keys)}, {"prefix", prefix}}, {}, "", false,
                      list_body_max};
    if (!token.empty()) r.query.emplace_back("continuation-token", token);
    s3_http_response res;
    if (auto st = conn->send(r, res); !st) return st;
    if (res.status != 200) return failed("list bucket " + impl_->s.bucket, res);
    for (const auto& c : xml_values(res.body, "Contents")) {
      auto key = xml_values(c, "Key"), mod = xml_values(c, "LastModified");
      if (key.empty()) continue;
      std::int64_t age = mod.empty() ? 0 : now - parse_iso_time(mod[0]);
      std::string rest = key[0].substr(std::min(prefix.size(), key[0].size()));
      blob_entry e{"", key[0], age};
      if (rest.rfind("blobs/", 0) == 0 && valid_blob_id(rest.substr(6))) e.id = rest.substr(6);
      else if (rest.rfind("tmp/", 0) != 0) continue;
      if (n++ >= max || !each(e)) return status::ok();
    }
    auto truncated = xml_values(res.body, "IsTruncated");
    auto next = xml_values(res.body, "NextContinuationToken");
    if (truncated.empty() || truncated[0] != "true" || next.empty()) return status::ok();
    token = next[0];
  }
}

std::string s3_blob_store::presigned_get_url(std::string_view id, std::int64_t expires_s, std::int64_t now_s) const {
  s3_target t = s3_target_of(impl_->s, key_of(id));
  sigv4_request r{"GET", t.path, {}, {{"host", t.host_header}}, std::string(unsigned_payload)};
  return std::string(t.tls ? "https://" : "http://") + t.host_header + t.path + "?" +
         sigv4_presign_query(r, impl_->s.credentials, impl_->s.region, amz_date(now_s), expires_s);
}

}  // namespace ledger::documents
