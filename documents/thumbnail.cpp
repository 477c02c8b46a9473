// libvips reads through a VipsSourceCustom whose read signal pulls pieces
// from the caller's source (so a spool is decrypted as libvips goes).
#include "documents/thumbnail.h"

#include <vips/vips.h>

#include <cstring>
#include <mutex>

namespace ledger::documents {

namespace {

// Process-wide libvips set-up: one worker per pipeline (uploads already run
// in parallel), a cache of a few operations and little memory (thumbnails
// are made once; caching decoded images would only hold memory).
bool vips_ready() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ok = VIPS_INIT("ledgerd") == 0;
    if (!ok) return;
    vips_concurrency_set(1);
    vips_cache_set_max(10);
    vips_cache_set_max_mem(16u << 20);
    vips_cache_set_max_files(10);
  });
  return ok;
}

// What the read signal pulls from: the caller's pieces, one kept at a time.
struct pull_state {
  piece_source next;
  std::string piece;
  std::size_t at = 0;
  bool failed = false, ended = false;
};

gint64 on_read(VipsSourceCustom*, void* buffer, gint64 length, gpointer user) {
  auto* s = static_cast<pull_state*>(user);
  if (s->failed) return -1;
  if (s->at == s->piece.size() && !s->ended) {
    s->at = 0;
    if (!s->next(s->piece)) return s->failed = true, -1;
    if (s->piece.empty()) s->ended = true;
  }
  std::size_t n = std::min(static_cast<std::size_t>(length), s->piece.size() - s->at);
  std::memcpy(buffer, s->piece.data() + s->at, n);
  s->at += n;
  return static_cast<gint64>(n);
}

// A libvips source over a fresh piece source; unref'd by the caller.
VipsSource* source_of(pull_state& st) {
  VipsSourceCustom* c = vips_source_custom_new();
  g_signal_connect(c, "read", G_CALLBACK(on_read), &st);
  return VIPS_SOURCE(c);
}

std::string vips_words() {
  std::string e = vips_error_buffer();
  vips_error_clear();
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  return e.empty() ? "libvips failed" : e;
}

// The header's dimensions, before a pixel is decoded.
thumbnail_outcome check_header(const std::function<status(piece_source&)>& open, const thumbnail_limits& limits,
                               std::string& detail) {
  pull_state st;
  if (auto s = open(st.next); !s) return detail = s.to_string(), thumbnail_outcome::unreadable;
  VipsSource* src = source_of(st);
  VipsImage* im = vips_image_new_from_source(src, "", "access", VIPS_ACCESS_SEQUENTIAL, nullptr);
  g_object_unref(src);
  if (!im) return detail = vips_words(), thumbnail_outcome::unreadable;
  auto w = static_cast<std::uint64_t>(vips_image_get_width(im)), h = static_cast<std::uint64_t>(vips_image_get_height(im));
  g_object_unref(im);
  if (w > static_cast<std::uint64_t>(limits.side_max_px) || h > static_cast<std::uint64_t>(limits.side_max_px) ||
      w * h > limits.pixels_max) {
    detail = "the image declares " + std::to_string(w) + "x" + std::to_string(h) + " pixels; at most " +
             std::to_string(limits.side_max_px) + " per side and " + std::to_string(limits.pixels_max) + " in all";
    return thumbnail_outcome::too_large;
  }
  return thumbnail_outcome::made;
}

}  // namespace

bool thumbnail_supported(std::string_view media_type) { return media_type == "image/jpeg" || media_type == "image/png"; }

thumbnail_outcome make_thumbnail(const std::function<status(piece_source&)>& open, std::string_view media_type,
                                 const thumbnail_limits& limits, std::string& out, std::string& detail) {
  out.clear();
  if (!vips_ready()) return detail = "libvips could not start", thumbnail_outcome::unreadable;
  if (auto h = check_header(open, limits, detail); h != thumbnail_outcome::made) return h;
  pull_state st;
  if (auto s = open(st.next); !s) return detail = s.to_string(), thumbnail_outcome::unreadable;
  VipsSource* src = source_of(st);
  VipsImage* thumb = nullptr;
  int rc = vips_thumbnail_source(src, &thumb, limits.edge_px, "height", limits.edge_px, "size", VIPS_SIZE_DOWN, nullptr);
  g_object_unref(src);
  if (rc != 0) return detail = vips_words(), thumbnail_outcome::unreadable;
  void* buf = nullptr;
  std::size_t len = 0;
  rc = media_type == "image/png" ? vips_pngsave_buffer(thumb, &buf, &len, "strip", TRUE, nullptr)
                                 : vips_jpegsave_buffer(thumb, &buf, &len, "Q", 80, "strip", TRUE, nullptr);
  g_object_unref(thumb);
  if (rc != 0) return detail = vips_words(), thumbnail_outcome::unreadable;
  out.assign(static_cast<const char*>(buf), len);
  g_free(buf);
  return thumbnail_outcome::made;
}

}  // namespace ledger::documents
