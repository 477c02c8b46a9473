// An incremental multipart/form-data reader (RFC 7578 over RFC 2046's
// multipart syntax) for browser uploads: bytes go in as they arrive, split
// anywhere; parts come out as a header (name, filename, Content-Type) then
// their bytes in pieces then an end, so a file part is never held whole.
//
// Limits: the boundary is 1 to 70 characters (RFC 2046); a part's headers at
// most part_header_bytes_max; at most parts_max parts; the preamble is
// skipped with a bounded look-behind. Memory: the header limit plus one
// boundary's length beyond the bytes fed.
//
// Errors are precise texts ("the multipart body ends before its closing
// boundary"); after one, the reader takes nothing more. Not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ledger::api {

// The boundary parameter of a multipart/form-data Content-Type; nullopt
// with `error` set when it is missing or invalid.
std::optional<std::string> multipart_boundary(std::string_view content_type, std::string& error);

struct multipart_part {
  std::string name;          // Content-Disposition: form-data; name="..."
  std::string filename;      // its filename="...", "" if none
  std::string content_type;  // the part's Content-Type, "" if none
};

class multipart_reader {
 public:
  struct events {
    // Each returns "" to go on, or an error text that stops the reader.
    std::function<std::string(const multipart_part&)> begin;
    std::function<std::string(std::string_view)> data;
    std::function<std::string()> end;
  };
  multipart_reader(std::string boundary, events ev, std::size_t part_header_bytes_max = 8 * 1024,
                   std::size_t parts_max = 16);

  // The next bytes of the body; "" or the error.
  std::string feed(std::string_view bytes);
  // The body ended: "" when the closing boundary was seen, else the error.
  std::string finish();
  bool done() const { return state_ == state::epilogue; }

 private:
  enum class state { preamble, after_delimiter, headers, body, epilogue, failed };
  std::string step();
  std::string on_after_delimiter();
  std::string on_headers();
  std::string on_body();
  std::string fail(std::string why);

  std::string delimiter_;  // CRLF "--" boundary
  events ev_;
  std::size_t header_max_, parts_max_, parts_ = 0;
  state state_ = state::preamble;
  std::string buf_;  // bytes not yet consumed (bounded: see the header)
};

}  // namespace ledger::api
