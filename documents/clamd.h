// Virus scanning through a ClamAV daemon (clamd) over its unix socket, with
// the INSTREAM command: the content is sent in chunks of 4-byte big-endian
// length + bytes, ended by a zero length; clamd answers "stream: OK",
// "stream: <signature> FOUND" or "... ERROR".
//
// Fail closed: a clamd that cannot be reached, times out or answers an error
// is an operating error (unavailable), never "clean".
//
// Thread-safe: each scan opens its own connection. Bounded: every send and
// receive has timeout_ms; the reply is read up to 1 KiB.
#pragma once

#include <string>
#include <string_view>

#include "schemas/base.h"

namespace ledger::documents {

struct scan_result {
  bool infected = false;
  std::string signature;  // when infected, as clamd names it
};

class clamd_scanner {
 public:
  clamd_scanner(std::string socket_path, int timeout_ms = 30'000)
      : path_(std::move(socket_path)), timeout_ms_(timeout_ms) {}
  status scan(std::string_view content, scan_result& out) const;
  const std::string& socket_path() const { return path_; }
  int timeout_ms() const { return timeout_ms_; }

 private:
  std::string path_;
  int timeout_ms_;
};

// One INSTREAM scan fed in pieces as an upload arrives, so the content is
// never held whole: open(), send() every piece in order, finish(). A failed
// send is remembered; finish() still reads clamd's answer (clamd closes
// early past its StreamMaxLength, after saying why). Not thread-safe; one
// connection, closed by finish() or the destructor.
class clamd_stream {
 public:
  explicit clamd_stream(const clamd_scanner& s) : scanner_(s) {}
  ~clamd_stream();
  clamd_stream(const clamd_stream&) = delete;
  clamd_stream& operator=(const clamd_stream&) = delete;
  status open();
  void send(std::string_view bytes);
  status finish(scan_result& out);

 private:
  const clamd_scanner& scanner_;
  int fd_ = -1;
  bool sent_ = true;
};

}  // namespace ledger::documents
