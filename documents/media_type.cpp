#include "documents/media_type.h"

#include <magic.h>

namespace ledger::documents {

namespace {

constexpr std::string_view allowed[] = {"application/pdf", "image/jpeg", "image/png", "image/heic", "text/plain"};

struct magic_handle {
  magic_t m = nullptr;
  bool loaded = false;
  magic_handle() {
    m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF);
    loaded = m && magic_load(m, nullptr) == 0;
  }
  ~magic_handle() {
    if (m) magic_close(m);
  }
};

}  // namespace

status sniff_media_type(std::string_view bytes, std::string& out) {
  thread_local magic_handle h;
  if (!h.loaded) return status::unavailable("libmagic could not load its database");
  const char* t = magic_buffer(h.m, bytes.data(), std::min(bytes.size(), sniff_bytes_max));
  if (!t) return status::unavailable(std::string("libmagic: ") + (magic_error(h.m) ? magic_error(h.m) : "failed"));
  out = t;
  return status::ok();
}

bool allowed_media_type(std::string_view media_type) {
  for (auto a : allowed)
    if (a == media_type) return true;
  return false;
}

std::string_view allowed_media_types_text() { return "application/pdf, image/jpeg, image/png, image/heic, text/plain"; }

std::string bare_media_type(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == ';') break;
    if (c == ' ' || c == '\t') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

}  // namespace ledger::documents
