// Live event subscriptions (Server-Sent Events and WebSocket): one thread
// follows the journal and feeds every subscriber from its own position.
//
// Design: the hub thread waits on the backend's commit signal
// (backend::wait_for_seq: the engine's, or the Kafka replica's), reads each
// newly committed range from the store once, and hands every subscriber
// the events after its position through view_event (filters and the user
// redaction). A subscriber behind the head (a resume) is caught up from the
// store, as far as its queue has room. Reads go to RocksDB from this thread:
// never the engine's writer thread, never an I/O thread.
//
// Limits: subscribers_max subscribers (subscribe() refuses beyond it); per
// subscriber at most queue_events_max events rendered and not yet written.
// A subscriber whose queue stays full for stall_ms while events wait for it
// is cut off: it gets what is queued, then a final message carrying its
// resume position (the seq of the last event it was handed; resuming after
// it misses nothing and repeats nothing).
//
// Thread-safe. The destructor stops the thread and ends every stream.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/backend.h"
#include "api/event_view.h"
#include "api/http.h"

namespace ledger::api {

struct event_hub_settings {
  std::size_t subscribers_max = 256;
  std::size_t queue_events_max = 1024;
  int stall_ms = 5000;
};

enum class event_channel { sse, websocket };

class event_hub {
 public:
  event_hub(backend& b, event_hub_settings s);
  ~event_hub();
  event_hub(const event_hub&) = delete;
  event_hub& operator=(const event_hub&) = delete;

  // A stream of the events after `after_seq` that `f` lets through, until
  // the client goes or is cut off; null when subscribers_max are open.
  std::shared_ptr<body_stream> subscribe(std::uint64_t after_seq, event_filter f, event_channel ch);
  // Prometheus lines: subscribers, events sent, cut-offs, lag per subscriber.
  std::string metrics() const;
  const event_hub_settings& settings() const { return settings_; }

  class subscriber;

 private:
  void run();
  // One pass over every subscriber; true when one of them has more to read now.
  bool serve_all(std::uint64_t head);
  std::vector<std::shared_ptr<subscriber>> live_subscribers();

  backend& backend_;
  const event_hub_settings settings_;
  std::optional<owner_cache> owners_;  // hub thread only; made on its start

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<subscriber>> subs_;  // protected by mu_
  std::uint64_t next_id_ = 1;                      // protected by mu_
  std::condition_variable wake_;
  bool stop_ = false;  // protected by mu_
  std::thread thread_;

  std::atomic<std::uint64_t> sent_{0}, cutoffs_{0}, refused_{0}, subscribed_{0};
};

}  // namespace ledger::api
