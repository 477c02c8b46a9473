// Media types from the bytes (libmagic), never from the client's header.
// Allowed for documents: PDF, JPEG, PNG, HEIC and plain text.
//
// Thread-safe: each thread keeps its own libmagic handle (magic_t is not
// safe to share), loaded once with the system's compiled database.
#pragma once

#include <string>
#include <string_view>

#include "schemas/base.h"

namespace ledger::documents {

// The media type libmagic finds in `bytes` (e.g. "image/png"). Only the
// first sniff_bytes_max bytes are looked at.
inline constexpr std::size_t sniff_bytes_max = 1 << 20;
status sniff_media_type(std::string_view bytes, std::string& out);

// Whether documents of this (sniffed) type are accepted.
bool allowed_media_type(std::string_view media_type);
// "application/pdf, image/jpeg, ..." for error details.
std::string_view allowed_media_types_text();

// The bare type of a Content-Type header value: lower-cased, parameters
// (";charset=...") and spaces dropped.
std::string bare_media_type(std::string_view header_value);

}  // namespace ledger::documents
