// The ledger's Kafka settings and the small layer every Kafka component
// shares: client handles that clean up after themselves, configuration built
// in one place (so every producer is idempotent with acks=all), topic
// creation, and record headers.
//
// Topics (names configurable):
//   commands  the engine's input. The ledger's total order is one partition
//             (`ledger_partition`); the API produces there with key = ledger.
//   events    the journal, relayed by the active engine: one partition, one
//             record per event, in seq order (see schemas/kafka_records.md).
//   replies   outcomes routed back to the API instance that produced the
//             command (key = that instance's id).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schemas/base.h"

namespace ledger::kafka {

struct options {
  std::string brokers;  // bootstrap servers, host:port,...
  std::string commands_topic = "ledger.commands";
  std::string events_topic = "ledger.events";
  std::string replies_topic = "ledger.replies";
  std::string ledger = "ledger";  // the commands' record key
  // The ledger id bound into the hash chain (engine/chain.h), the same on
  // every instance and reader of one ledger; empty: the zero genesis.
  std::string ledger_id;
  int commands_partitions = 1;    // created with; the ledger uses ledger_partition
  int ledger_partition = 0;
  int replies_partitions = 4;
  int replication_factor = 3;
  int min_insync_replicas = 2;
  std::int64_t retention_ms = -1;  // commands and events: keep forever by default
  std::int64_t replies_retention_ms = 3'600'000;
  std::string group = "ledger-engine";  // the engines' consumer group
  std::string instance_id;              // this process (API reply routing, group member)
  int request_timeout_ms = 10'000;      // how long an API request waits for its outcome
  int session_timeout_ms = 6'000;       // engine group membership
  // Raw librdkafka settings applied last (security.protocol, sasl.*, test.mock.*).
  std::vector<std::pair<std::string, std::string>> extra;
};

struct handle_deleter {
  void operator()(rd_kafka_t* rk) const;
};
using handle = std::unique_ptr<rd_kafka_t, handle_deleter>;

struct topic_partitions_deleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using partition_list = std::unique_ptr<rd_kafka_topic_partition_list_t, topic_partitions_deleter>;

struct message_deleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using message = std::unique_ptr<rd_kafka_message_t, message_deleter>;

using settings = std::vector<std::pair<std::string, std::string>>;

// A configuration with the brokers, `base` and then options.extra applied.
// The result is owned by the caller until handed to rd_kafka_new.
status make_conf(const options& o, const settings& base, rd_kafka_conf_t*& out);

// An idempotent producer (acks=all, in-order retries). `base` adds settings.
status make_producer(const options& o, const settings& base, handle& out);
// A consumer; group.id and the like come in `base`.
status make_consumer(const options& o, const settings& base, handle& out);
// Any client, with `customize` run on the configuration before the client
// is made (callbacks, opaque).
status make_client(rd_kafka_type_t type, const options& o, const settings& base,
                   const std::function<void(rd_kafka_conf_t*)>& customize, handle& out);

// Creates the three topics with the configured partitions, replication and
// retention where they do not exist yet. Existing topics are left as they
// are. Then checks (metadata) that each exists.
status create_topics(const options& o, int timeout_ms);

// Checks that `topic` exists, and returns its partition count.
status topic_partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms, int& partitions);

// Low and high watermarks of one partition, from the broker.
status watermarks(rd_kafka_t* rk, const std::string& topic, int partition, int timeout_ms, std::int64_t& low,
                  std::int64_t& high);

// The value of header `name` on a consumed message, if present.
std::optional<std::string_view> header(const rd_kafka_message_t* m, const char* name);

status error_status(rd_kafka_resp_err_t err, const std::string& what);

// Fixed-width big-endian integers for headers.
std::string be64(std::uint64_t v);
std::optional<std::uint64_t> from_be64(std::string_view s);

}  // namespace ledger::kafka
