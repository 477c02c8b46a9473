// Child of the crash test: applies a deterministic stream of commands to the
// ledger at <dir> and prints "ack <index> <seq> <replay>" for each command
// once its batch is durable. The parent kills it with SIGKILL at random
// points, drops every write it did not sync (as a power loss would; see
// power_loss_fs.h) and checks what survived.
//
// usage: crash_child <dir> <first index> <end index> [pipeline_commands_min]
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>

#include "engine/engine.h"
#include "tests/engine/power_loss_fs.h"
#include "tools/system_clock.h"

using namespace ledger;

namespace {

constexpr int wallets = 50;
constexpr int in_flight_max = 8;

outcome run_sync(engine& e, command c) {
  std::promise<outcome> p;
  auto f = p.get_future();
  while (e.submit({c}, [&p](std::vector<outcome>&& o) { p.set_value(std::move(o.at(0))); }) != append_result::ok) {
  }
  return f.get();
}

command setup_command(const std::string& key, command_body body) { return command{"crash", key, "", std::move(body)}; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: crash_child <dir> <first> <end> [pipeline_commands_min]\n");
    return 2;
  }
  std::string dir = argv[1];
  long first = std::atol(argv[2]);
  long end = std::atol(argv[3]);

  system_clock_source clk;
  engine_options o;
  o.store.path = dir;
  o.store.write_buffer_bytes = 8u << 20;
  o.clk = &clk;
  // The parent drops what this process wrote but did not sync, after it
  // kills it, from the log this file system keeps.
  if (const char* side_log = std::getenv("LEDGER_POWER_LOSS_LOG"))
    o.store.file_system = std::make_shared<ledger::testing::power_loss_fs>(side_log);
  if (argc == 5) o.pipeline_commands_min = static_cast<std::size_t>(std::atol(argv[4]));
  std::unique_ptr<engine> e;
  if (auto s = engine::open(o, e); !s) {
    std::fprintf(stderr, "open failed: %s\n", s.to_string().c_str());
    return 1;
  }

  // Setup is idempotent: on every start it replays the same keys.
  std::vector<std::uint64_t> ids;
  run_sync(*e, setup_command("setup-asset", register_asset_cmd{"EUR", 2, 1, amount_limit}));
  run_sync(*e, setup_command("setup-clearing", open_account_cmd{account_kind::system, "clearing:bank", {}}));
  for (int i = 0; i < wallets; ++i) {
    auto r = run_sync(*e, setup_command("setup-w" + std::to_string(i),
                                        open_account_cmd{account_kind::user, "u" + std::to_string(i), {{"EUR", 0, 0}}}));
    if (!r.accepted()) {
      std::fprintf(stderr, "setup failed\n");
      return 1;
    }
    ids.push_back(r.account_id);
  }

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  long i = first;
  while (i < end) {
    std::vector<command> batch;
    long start = i;
    long n = 1 + (i * 7919) % 32;
    for (; i < end && i < start + n; ++i) {
      command c{"crash", "c" + std::to_string(i), "", {}};
      auto w = static_cast<std::size_t>(i % wallets);
      if (i % 5 == 0)
        c.body = deposit_cmd{ids[w], "EUR", 1000 + i % 97, "bank", "", ""};
      else
        c.body = transfer_cmd{ids[w], ids[(w * 13 + 1) % wallets], "EUR", 1 + i % 400, 0, "", ""};
      batch.push_back(std::move(c));
    }
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < in_flight_max; });
      ++in_flight;
    }
    auto done = [&, start](std::vector<outcome>&& outs) {
      std::string lines;
      for (std::size_t k = 0; k < outs.size(); ++k) {
        if (!outs[k].error.is_ok()) continue;
        lines += "ack " + std::to_string(start + static_cast<long>(k)) + " " + std::to_string(outs[k].seq) + " " +
                 (outs[k].replay ? "1" : "0") + "\n";
      }
      std::fwrite(lines.data(), 1, lines.size(), stdout);
      std::fflush(stdout);
      std::lock_guard lock(mu);
      --in_flight;
      cv.notify_one();
    };
    while (e->submit(batch, done) != append_result::ok) {
    }
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  e->stop();
  std::printf("done\n");
  return 0;
}
