#include <doctest/doctest.h>

#include "kafka/records.h"
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

// Every outcome field a route answers with crosses the replies topic: a
// reply that dropped one left Kafka-mode sign-ins, deposits, payment
// requests and quotes without their ids.
TEST_CASE("records: a reply carries every outcome field a route answers with") {
  outcome o;
  o.seq = 41;
  o.log_ts_us = 1'700'000'000'000'000;
  o.result = event_status::accepted;
  o.transaction_id = 7;
  o.account_id = 8;
  o.pending_id = 9;
  o.session_id = 10;
  o.session_owner = "alice";
  o.session_expires_at_us = 1'700'000'300'000'000;
  o.sessions_closed = 2;
  o.money_tx_id = 11;
  o.money_tx_kind = money_kind::withdrawal;
  o.money_tx_status = money_status::completed;
  o.payment_request_id = 12;
  o.payment_request_status_after = payment_request_status::paid;
  o.quote = quote_issued{41, "alice", "USD", "EUR", fx_side::buy, 920'000'000'000'000'000, 25, 10'000, 25, 9'175, 1'700'000'030'000'000};
  outcome plain;  // no quote, rejected
  plain.seq = 42;
  plain.reason = reason::insufficient_funds;
  plain.detail = "amount: short";
  std::vector<outcome> back;
  REQUIRE(kafka::decode_reply(kafka::encode_reply({o, plain}), back).is_ok());
  REQUIRE(back.size() == 2);
  const auto& b = back[0];
  CHECK(b.seq == 41);
  CHECK(b.session_id == 10);
  CHECK(b.session_owner == "alice");
  CHECK(b.session_expires_at_us == o.session_expires_at_us);
  CHECK(b.sessions_closed == 2);
  CHECK(b.money_tx_id == 11);
  CHECK(b.money_tx_kind == money_kind::withdrawal);
  CHECK(b.money_tx_status == money_status::completed);
  CHECK(b.payment_request_id == 12);
  CHECK(b.payment_request_status_after == payment_request_status::paid);
  REQUIRE(b.quote.has_value());
  CHECK(b.quote->to_asset == "EUR");
  CHECK(b.quote->to_amount == 9'175);
  CHECK(b.quote->expires_at_us == o.quote->expires_at_us);
  CHECK_FALSE(back[1].quote.has_value());
  CHECK(back[1].reason == reason::insufficient_funds);
  CHECK(back[1].detail == "amount: short");
  // A truncated reply is refused, not half-read.
  auto bytes = kafka::encode_reply({o});
  bytes.pop_back();
  CHECK_FALSE(kafka::decode_reply(bytes, back).is_ok());
}
