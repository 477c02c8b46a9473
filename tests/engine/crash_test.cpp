// Crash test: a child process applies commands and reports each
// acknowledgement; the test kills it with SIGKILL at random points (25
// times), drops every write the child did not sync (a power loss, not just
// a process kill, which keeps the page cache), restarting it each time, and checks after every kill that every
// acknowledged command is in the ledger exactly once, nothing is
// half-applied, the chain verifies, and the rebuilt state equals the stored
// one.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <set>

#include "tests/engine/harness.h"
#include "tests/engine/ledger_checks.h"
#include "tests/engine/power_loss_fs.h"
#include "tools/system_clock.h"

using namespace ledger;
using namespace ledger::testing;

namespace {

struct child {
  pid_t pid = -1;
  int out_fd = -1;
};

child spawn(const std::string& dir, const std::string& side_log, long first, long end, int pipeline_min) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    setenv("LEDGER_POWER_LOSS_LOG", side_log.c_str(), 1);
    std::string a = std::to_string(first), b = std::to_string(end), p = std::to_string(pipeline_min);
    execl(LEDGER_CRASH_CHILD, "crash_child", dir.c_str(), a.c_str(), b.c_str(), p.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads whole lines; returns false at end of stream. Bounded wait.
bool read_line(int fd, std::string& buf, std::string& line, int timeout_ms) {
  for (;;) {
    if (auto nl = buf.find('\n'); nl != std::string::npos) {
      line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    REQUIRE_MESSAGE(r > 0, "the child went silent for " << timeout_ms << " ms");
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace

TEST_CASE("kill -9 at random points loses no acknowledged command and applies none twice") {
  std::uint64_t seed = std::getenv("LEDGER_SEED") ? std::strtoull(std::getenv("LEDGER_SEED"), nullptr, 10) : 4242;
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  temp_dir dir("ledger-crash");
  std::string path = (dir.path() / "ledger").string();
  std::string side_log = (dir.path() / "synced.log").string();
  std::uint64_t dropped = 0;

  std::map<long, std::uint64_t> acked;  // command index -> seq of its event
  long next = 0;
  constexpr int kills = 25;
  for (int round = 0; round < kills; ++round) {
    CAPTURE(round);
    // Resend a few already acknowledged commands: they must come back as replays.
    long first = std::max<long>(0, next - std::uniform_int_distribution<long>(0, 50)(rng));
    // Alternate rounds commit on the committer thread (pipelined) or inline.
    auto c = spawn(path, side_log, first, first + 1'000'000, round % 2 == 0 ? 1 : 512);
    long target = std::uniform_int_distribution<long>(1, 3000)(rng);
    long seen = 0;
    std::string buf, line;
    bool killed = false;
    while (read_line(c.out_fd, buf, line, 60'000)) {
      long idx = 0;
      unsigned long long seq = 0;
      int replay = 0;
      if (std::sscanf(line.c_str(), "ack %ld %llu %d", &idx, &seq, &replay) != 3) continue;
      auto [it, fresh] = acked.emplace(idx, seq);
      CHECK_MESSAGE(it->second == seq, "command " << idx << " acknowledged with two sequences");
      if (!fresh) CHECK(replay == 1);
      next = std::max(next, idx + 1);
      if (++seen >= target && !killed) {
        kill(c.pid, SIGKILL);  // lines already in the pipe are still acknowledgements
        killed = true;
      }
    }
    close(c.out_fd);
    int st = 0;
    waitpid(c.pid, &st, 0);
    REQUIRE_MESSAGE(killed, "the child ended before it was killed");
    REQUIRE(WIFSIGNALED(st));
    // The power goes with it: what was written but not synced is lost.
    dropped += drop_unsynced_writes(side_log);

    // Restart and check.
    system_clock_source clk;
    engine_options o;
    o.store.path = path;
    o.clk = &clk;
    std::unique_ptr<engine> e;
    auto s = engine::open(o, e);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    auto& store = e->storage();
    rebuilt_state r;
    s = rebuild(store, {}, r);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    CHECK(r.head.seq == e->head().seq);
    checkpoint live;
    REQUIRE(store.state_digest(live).is_ok());
    CHECK(to_hex(live.state_digest) == to_hex(r.digest));
    CHECK(trial_balance_of(*r.state).zero());

    // Every acknowledged command exactly once, at the sequence it was acknowledged with.
    std::map<std::string, int> count;
    std::vector<journal_entry> entries;
    for (std::uint64_t from = 1; store.read_journal(from, 4096, entries).is_ok() && !entries.empty();
         from = entries.back().seq + 1)
      for (auto& je : entries) {
        event ev;
        REQUIRE(decode_event(je.event_bytes, ev).is_ok());
        if (!ev.idempotency_key.empty()) count[ev.idempotency_key]++;
      }
    long missing = 0, duplicated = 0;
    for (auto& [idx, seq] : acked) {
      std::string key = "c" + std::to_string(idx);
      if (count[key] == 0) ++missing;
      if (count[key] > 1) ++duplicated;
      auto rec = r.state->idempotency("crash", key);
      if (!rec || rec->seq != seq) ++missing;
    }
    for (auto& [key, n] : count)
      if (n > 1) ++duplicated;
    CHECK(missing == 0);
    CHECK(duplicated == 0);
  }
  CHECK(acked.size() > 1000);
  MESSAGE(dropped << " unsynced bytes dropped over " << kills << " power losses");
}
