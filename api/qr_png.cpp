#include "api/qr_png.h"

#include <png.h>
#include <qrencode.h>

#include <memory>
#include <vector>

namespace ledger::api {

namespace {

constexpr int quiet_modules = 4;

struct qr_deleter {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

void append_png(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), size);
}

void flush_png(png_structp) {}

// Writes the rows; libpng reports errors by longjmp, caught here.
bool write_png(const std::vector<std::vector<png_byte>>& rows, int side, std::string& out, std::string& error) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!png) return error = "libpng: cannot create a writer", false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return error = "libpng: cannot create the image header", false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    out.clear();
    return error = "libpng: writing the image failed", false;
  }
  png_set_write_fn(png, &out, append_png, flush_png);
  png_set_IHDR(png, info, static_cast<png_uint_32>(side), static_cast<png_uint_32>(side), 8, PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (const auto& row : rows) png_write_row(png, row.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

bool qr_png(std::string_view text, int module_px, std::string& png, std::string& error) {
  png.clear();
  if (text.empty() || text.size() > qr_text_bytes_max) return error = "text must be 1 to 1024 bytes", false;
  if (module_px < 1 || module_px > 16) return error = "module size must be 1 to 16 pixels", false;
  std::string copy(text);  // NUL-terminated for the C API
  std::unique_ptr<QRcode, qr_deleter> qr(QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M));
  if (!qr) return error = "libqrencode: the text does not fit in a QR code", false;
  const int modules = qr->width + 2 * quiet_modules;
  const int side = modules * module_px;
  std::vector<std::vector<png_byte>> rows(static_cast<std::size_t>(side), std::vector<png_byte>(static_cast<std::size_t>(side), 255));
  for (int y = 0; y < qr->width; ++y)
    for (int x = 0; x < qr->width; ++x) {
      if (!(qr->data[y * qr->width + x] & 1)) continue;  // bit 0: a dark module
      for (int dy = 0; dy < module_px; ++dy)
        for (int dx = 0; dx < module_px; ++dx)
          rows[static_cast<std::size_t>((y + quiet_modules) * module_px + dy)]
              [static_cast<std::size_t>((x + quiet_modules) * module_px + dx)] = 0;
    }
  return write_png(rows, side, png, error);
}

}  // namespace ledger::api
