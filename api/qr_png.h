// A QR code of a text, as a PNG image: libqrencode makes the symbol (error
// correction level M, 8-bit mode), libpng writes it (8-bit grayscale,
// black modules on white, a quiet zone of 4 modules, `module_px` pixels a
// module). Nothing is hand-rolled: the deflate is zlib's through libpng.
//
// Limits: texts of at most qr_text_bytes_max bytes; module_px 1..16. The
// image is at most (177 + 8) * 16 pixels wide.
#pragma once

#include <string>
#include <string_view>

namespace ledger::api {

inline constexpr std::size_t qr_text_bytes_max = 1024;

// The PNG bytes in `png`; false (with `error`) when the text does not fit
// or a library fails.
bool qr_png(std::string_view text, int module_px, std::string& png, std::string& error);

}  // namespace ledger::api
