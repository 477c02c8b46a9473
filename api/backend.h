// What the HTTP API needs from the ledger, as an interface: the command
// path and committed state to read. In embedded mode it is the engine in
// this process; in Kafka mode (tools/), commands go through the commands
// topic and reads come from a local replica of the events topic.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/metrics.h"

namespace ledger::api {

class backend {
 public:
  virtual ~backend() = default;
  // Never blocks. The completion is called once, with one outcome per command.
  virtual append_result submit(std::vector<command>&& commands, completion done) = 0;
  // Why commands cannot be accepted now; ok when they can.
  virtual status health() const = 0;
  // The head of the state reads see.
  virtual ledger_head head() const = 0;
  // The highest seq this instance has acknowledged or observed: the highest
  // a client of this instance can know of (a read's min_seq beyond it is
  // refused). The engine's head here; in Kafka mode the replica may trail
  // what this instance acknowledged, so it is the larger of the two.
  virtual std::uint64_t known_seq() const { return head().seq; }
  // Committed state for reads (assets, wallets, holds). A backend may wait,
  // briefly and bounded, for its reads to include what this instance has
  // already acknowledged.
  virtual const store& storage() const = 0;
  // Prometheus lines about the backend (engine or Kafka path).
  virtual std::string metrics() const = 0;
  // Waits up to timeout_ms until head() reaches `seq` (the engine's commit
  // signal, or the Kafka replica's); true when it has. The event streams
  // wake on it. The default, for backends without a signal, looks again
  // after the timeout.
  virtual bool wait_for_seq(std::uint64_t seq, int timeout_ms) const {
    if (head().seq < seq) std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return head().seq >= seq;
  }
};

class engine_backend final : public backend {
 public:
  explicit engine_backend(engine& e) : e_(e) {}
  append_result submit(std::vector<command>&& commands, completion done) override {
    return e_.submit(std::move(commands), std::move(done));
  }
  status health() const override { return e_.failure(); }
  ledger_head head() const override { return e_.head(); }
  const store& storage() const override { return e_.storage(); }
  std::string metrics() const override { return engine_metrics(e_); }
  bool wait_for_seq(std::uint64_t seq, int timeout_ms) const override { return e_.wait_for_seq(seq, timeout_ms); }

 private:
  engine& e_;
};

}  // namespace ledger::api
