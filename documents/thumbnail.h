// Thumbnails of JPEG and PNG documents with libvips (Debian's libvips-dev):
// fit inside edge_px x edge_px, aspect kept, never enlarged, metadata
// stripped (no EXIF location in a thumbnail), saved in the original's
// format.
//
// Bounded: the image is read from a piece source (never whole in memory);
// its header's dimensions are checked before any pixel is decoded, so a
// decompression bomb (a small file declaring a huge image) is refused with
// too_large; libvips runs with one worker thread per pipeline and a small
// operation cache (set once, process-wide, on first use).
//
// Thread-safe: libvips is; each call has its own sources.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "documents/blob_crypto.h"

namespace ledger::documents {

struct thumbnail_limits {
  int edge_px = 200;
  int side_max_px = 20'000;              // either side of the original
  std::uint64_t pixels_max = 100'000'000;  // width x height of the original
};

enum class thumbnail_outcome {
  made,        // `out` holds the thumbnail
  too_large,   // the header declares more than the limits (`detail` says what)
  unreadable,  // not decodable as the type says (`detail` has libvips' words)
};

// Whether thumbnails are made for documents of this (sniffed) type.
bool thumbnail_supported(std::string_view media_type);

// `open` gives a fresh source of the image's bytes each time it is called
// (the header is read through one, the pixels through another).
thumbnail_outcome make_thumbnail(const std::function<status(piece_source&)>& open, std::string_view media_type,
                                 const thumbnail_limits& limits, std::string& out, std::string& detail);

}  // namespace ledger::documents
