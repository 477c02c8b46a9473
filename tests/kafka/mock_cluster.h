// librdkafka's mock cluster for tests: real Kafka protocol over loopback,
// in this process. In librdkafka 2.0 it keeps at most 100,000 messages or
// 5 MiB per partition and does not filter aborted transactions, so no test
// depends on Kafka transactions (docs/kafka.md lists its other quirks).
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <string>

#include "kafka/client.h"

namespace ledger::testing {

class mock_cluster {
 public:
  explicit mock_cluster(int brokers = 3) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!owner_) throw std::runtime_error(err);
    cluster_ = rd_kafka_mock_cluster_new(owner_, brokers);
    if (!cluster_) throw std::runtime_error("mock cluster");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(owner_);
  }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  const std::string& bootstraps() const { return bootstraps_; }
  rd_kafka_mock_cluster_t* get() { return cluster_; }

  // Options pointing at this cluster. Topics: create_topics() (3 replicas).
  kafka::options options(const std::string& instance = "test") {
    kafka::options o;
    o.brokers = bootstraps_;
    o.instance_id = instance;
    o.replication_factor = 1;
    o.min_insync_replicas = 1;
    o.session_timeout_ms = 6000;
    // The mock holds an empty fetch for the whole fetch.wait.max.ms even when
    // data arrives meanwhile (a real broker answers at once): keep it short.
    o.extra = {{"log_level", "3"}, {"fetch.wait.max.ms", "5"}};
    return o;
  }
  void create_topics(const kafka::options& o) {
    rd_kafka_mock_topic_create(cluster_, o.commands_topic.c_str(), o.commands_partitions, 3);
    rd_kafka_mock_topic_create(cluster_, o.events_topic.c_str(), 1, 3);
    rd_kafka_mock_topic_create(cluster_, o.replies_topic.c_str(), o.replies_partitions, 3);
  }
  // Takes every broker down or up (the cluster keeps its data).
  void all_brokers(bool up) {
    for (int id = 1; id <= 3; ++id) {
      if (up)
        rd_kafka_mock_broker_set_up(cluster_, id);
      else
        rd_kafka_mock_broker_set_down(cluster_, id);
    }
  }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

}  // namespace ledger::testing
