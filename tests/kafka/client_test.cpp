#include <doctest/doctest.h>

#include "tests/kafka/mock_cluster.h"

using namespace ledger;

// librdkafka 2.0's mock cluster does not implement CreateTopics (and
// auto-creates any topic a client asks about, with 4 partitions), so the
// topics are made through the mock's API and create_topics() must accept
// that they exist, leaving them as they are.
TEST_CASE("client: create_topics leaves existing topics as they are") {
  testing::mock_cluster mc;
  auto o = mc.options();
  o.replies_partitions = 3;
  mc.create_topics(o);
  REQUIRE(kafka::create_topics(o, 5000));
  kafka::handle p;
  REQUIRE(kafka::make_producer(o, {{"allow.auto.create.topics", "false"}}, p));
  int parts = 0;
  REQUIRE(kafka::topic_partitions(p.get(), o.commands_topic, 5000, parts));
  CHECK(parts == 1);
  REQUIRE(kafka::topic_partitions(p.get(), o.replies_topic, 5000, parts));
  CHECK(parts == 3);
}

TEST_CASE("client: a bad setting is named") {
  kafka::options o;
  o.extra = {{"no.such.setting", "1"}};
  kafka::handle p;
  auto s = kafka::make_producer(o, {}, p);
  CHECK(s.error_code() == status::code::invalid_argument);
  CHECK(s.message().find("no.such.setting") != std::string::npos);
}

TEST_CASE("client: be64 round trip") {
  CHECK(kafka::from_be64(kafka::be64(0x0102030405060708ull)) == 0x0102030405060708ull);
  CHECK_FALSE(kafka::from_be64("short").has_value());
}
