#include "tools/audit/progress.h"

#include <unistd.h>

#include <cstdio>

namespace ledger::audit {

progress::progress(std::string label, std::uint64_t first_seq, std::uint64_t total)
    : label_(std::move(label)), first_(first_seq), total_(total), enabled_(::isatty(2) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void progress::update(std::uint64_t seq) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  double secs = seconds();
  double done = seq >= first_ ? double(seq - first_ + 1) : 0;
  double rate = secs > 0 ? done / secs : 0;
  char line[200];
  if (total_ >= first_ && total_ > 0) {
    double all = double(total_ - first_ + 1);
    double eta = rate > 0 ? (all - done) / rate : 0;
    std::snprintf(line, sizeof line, "\r%s: seq %llu / %llu (%.1f%%), %.0f events/s, ETA %.0f s   ", label_.c_str(),
                  (unsigned long long)seq, (unsigned long long)total_, 100.0 * done / all, rate, eta);
  } else {
    std::snprintf(line, sizeof line, "\r%s: seq %llu, %.0f events/s   ", label_.c_str(), (unsigned long long)seq, rate);
  }
  std::fputs(line, stderr);
  drawn_ = true;
}

void progress::finish(const std::string& text, std::uint64_t events) {
  if (drawn_) std::fputs("\r\033[K", stderr);
  double secs = seconds();
  std::fprintf(stderr, "ledgerctl %s: %s (%llu events in %.2f s, %.0f events/s)\n", label_.c_str(), text.c_str(),
               (unsigned long long)events, secs, secs > 0 ? double(events) / secs : 0.0);
}

}  // namespace ledger::audit
