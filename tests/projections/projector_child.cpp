// Child of the projector kill test (failures_test.cpp): follows a ledger's
// journal through a read-only RocksDB follower and projects it into
// PostgreSQL in small batches, printing the projected seq after every
// committed batch. The parent kills it with SIGKILL at random points.
//
// usage: projector_child <ledger store dir> <follower dir> <conninfo> <batch size>
//                        [<writing connections> [<kill at batch>]]
// With a kill batch n > 0 the child kills itself with SIGKILL in its n-th
// batch, after the second connection committed and before the checkpoint's
// transaction commits (projector_options::before_checkpoint_commit).
//
// Output, one line each, flushed at once:
//   seq <n>     a batch up to seq n is committed (checkpoint included)
//   error <msg> a step failed; it is retried
//   done <n>    the projection reached the journal head n; exit 0
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "engine/store.h"
#include "projections/projector.h"

using namespace ledger;

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    std::fprintf(stderr, "usage: projector_child <ledger store dir> <follower dir> <conninfo> <batch size> "
                         "[<writing connections> [<kill at batch>]]\n");
    return 2;
  }
  std::unique_ptr<store> st;
  if (auto s = store::open_follower(argv[1], argv[2], st); !s) {
    std::fprintf(stderr, "projector_child: opening the follower failed: %s\n", s.to_string().c_str());
    return 1;
  }
  store& journal = *st;
  projections::journal_source source{
      [&journal](std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) {
        return journal.read_journal(from, max, out);
      },
      [&journal](std::uint64_t seq, int timeout_ms) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
          (void)journal.catch_up();
          if (journal.head().seq >= seq) return true;
          if (std::chrono::steady_clock::now() >= deadline) return false;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      },
      [&journal] { return journal.head(); }};

  projections::projector_options o;
  o.conninfo = argv[3];
  o.batch_events_max = static_cast<std::size_t>(std::strtoull(argv[4], nullptr, 10));
  if (o.batch_events_max == 0) o.batch_events_max = 50;
  if (argc > 5) o.write_connections = std::strtoull(argv[5], nullptr, 10) == 2 ? 2 : 1;
  const unsigned long long kill_at = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 0;
  unsigned long long batches = 0;
  o.before_checkpoint_commit = [&batches, kill_at](std::uint64_t) {
    if (kill_at != 0 && ++batches == kill_at) raise(SIGKILL);
  };
  projections::projector p(source, o);
  for (;;) {
    std::size_t n = 0;
    auto s = p.step(n);
    if (!s) {
      std::printf("error %s\n", s.to_string().c_str());
      std::fflush(stdout);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    auto seq = static_cast<unsigned long long>(p.stats().projected_seq);
    if (n > 0) {
      std::printf("seq %llu\n", seq);
      std::fflush(stdout);
      continue;
    }
    if (p.stats().projected_seq >= journal.head().seq) {
      std::printf("done %llu\n", seq);
      std::fflush(stdout);
      return 0;
    }
  }
}
