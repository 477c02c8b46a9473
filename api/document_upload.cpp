#include "api/document_upload.h"
#include "base/hex.h"

#include "documents/media_type.h"

namespace ledger::api::docs {

namespace {

problem unavailable(const char* slug, const std::string& detail) { return {503, slug, detail, "", {{"Retry-After", "5"}}}; }

}  // namespace

upload_sink::upload_sink(const document_settings& s, std::string declared) : s_(s), declared_(std::move(declared)) {
  sha_ = EVP_MD_CTX_new();
  if (sha_) EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr);
}

upload_sink::~upload_sink() { EVP_MD_CTX_free(sha_); }

std::optional<problem> upload_sink::add(std::string_view bytes) {
  if (bytes.size() > s_.upload_bytes_max - size_)
    return problem{413, "body-too-large", "the document exceeds " + std::to_string(s_.upload_bytes_max) + " bytes", "", {}};
  size_ += bytes.size();
  if (!sha_ || EVP_DigestUpdate(sha_, bytes.data(), bytes.size()) != 1)
    return unavailable("documents-unavailable", "the content could not be hashed");
  if (started_) return pass_on(bytes);
  std::size_t take = std::min(bytes.size(), sniff_prefix_bytes - prefix_.size());
  prefix_.append(bytes.substr(0, take));
  if (prefix_.size() < sniff_prefix_bytes) return std::nullopt;
  if (auto p = start()) return p;
  return pass_on(bytes.substr(take));
}

// The media type from the first bytes; then the scanner and the spool
// start, and take the prefix.
std::optional<problem> upload_sink::start() {
  started_ = true;
  if (auto st = documents::sniff_media_type(prefix_, media_type_); !st)
    return unavailable("documents-unavailable", "the media type could not be determined");
  if (!documents::allowed_media_type(media_type_))
    return problem{415, "unsupported-media-type",
                   "the content is " + media_type_ + "; allowed: " + std::string(documents::allowed_media_types_text()), "", {}};
  if (!declared_.empty() && declared_ != "application/octet-stream" && declared_ != media_type_)
    return problem{415, "media-type-mismatch", "Content-Type says " + declared_ + " but the content is " + media_type_, "", {}};
  if (!s_.scan_disabled) {
    if (!s_.scanner)
      return problem{503, "virus-scanner-unavailable",
                     "no virus scanner is configured (--clamd-socket PATH; --clamd-socket off uploads unscanned)", "", {}};
    scan_ = std::make_unique<documents::clamd_stream>(*s_.scanner);
    if (auto st = scan_->open(); !st) {
      log_ = st.to_string();
      return unavailable("virus-scanner-unavailable", "the virus scanner did not answer; retry later");
    }
  }
  if (auto st = documents::upload_spool::create(s_.spool_dir, spool_); !st) {
    log_ = st.to_string();
    return unavailable("documents-unavailable", "the upload could not be staged; retry later");
  }
  std::string first = std::move(prefix_);
  prefix_.clear();
  return pass_on(first);
}

std::optional<problem> upload_sink::pass_on(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  if (scan_) scan_->send(bytes);
  if (auto st = spool_->write(bytes); !st) {
    log_ = st.to_string();
    return unavailable("documents-unavailable", "the upload could not be staged; retry later");
  }
  return std::nullopt;
}

std::optional<problem> upload_sink::end() {
  if (size_ == 0) return problem{400, "empty-document", "the request body (the file) is empty", "", {}};
  if (!started_)
    if (auto p = start()) return p;
  unsigned char md[32];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(sha_, md, &len) != 1) return unavailable("documents-unavailable", "the content could not be hashed");
  sha256_ = hex_lower(md, len);
  if (scan_) {
    documents::scan_result r;
    auto st = scan_->finish(r);
    scan_.reset();
    if (!st) {
      log_ = st.to_string();
      return unavailable("virus-scanner-unavailable", "the virus scanner did not answer; retry later");
    }
    if (r.infected) return problem{422, "infected-content", "the content is infected: " + r.signature, "", {}};
  }
  if (auto st = spool_->finish(); !st) {
    log_ = st.to_string();
    return unavailable("documents-unavailable", "the upload could not be staged; retry later");
  }
  return std::nullopt;
}

}  // namespace ledger::api::docs
