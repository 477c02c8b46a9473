#include "kafka/client.h"

#include <cstring>

namespace ledger::kafka {

void handle_deleter::operator()(rd_kafka_t* rk) const {
  if (!rk) return;
  if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER) rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

status error_status(rd_kafka_resp_err_t err, const std::string& what) {
  return status::unavailable(what + ": " + rd_kafka_err2str(err));
}

status make_conf(const options& o, const settings& base, rd_kafka_conf_t*& out) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) -> status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      return status::invalid_argument("kafka setting " + k + ": " + err);
    return status::ok();
  };
  status s;
  if (!o.brokers.empty()) s = set("bootstrap.servers", o.brokers);
  if (s && !o.instance_id.empty()) s = set("client.id", "ledger-" + o.instance_id);
  for (const auto& [k, v] : base)
    if (s) s = set(k, v);
  for (const auto& [k, v] : o.extra)
    if (s) s = set(k, v);
  if (!s) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  out = conf;
  return status::ok();
}

status make_client(rd_kafka_type_t type, const options& o, const settings& base,
                   const std::function<void(rd_kafka_conf_t*)>& customize, handle& out) {
  rd_kafka_conf_t* conf = nullptr;
  if (auto s = make_conf(o, base, conf); !s) return s;
  if (customize) customize(conf);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);  // takes conf on success
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return status::invalid_argument(std::string("kafka client: ") + err);
  }
  out.reset(rk);
  return status::ok();
}

status make_producer(const options& o, const settings& base, handle& out) {
  settings all = {{"enable.idempotence", "true"}, {"acks", "all"}, {"max.in.flight.requests.per.connection", "5"}};
  all.insert(all.end(), base.begin(), base.end());
  return make_client(RD_KAFKA_PRODUCER, o, all, {}, out);
}

status make_consumer(const options& o, const settings& base, handle& out) {
  settings all = {{"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"},
                  {"auto.offset.reset", "earliest"}, {"enable.partition.eof", "false"}};
  all.insert(all.end(), base.begin(), base.end());
  return make_client(RD_KAFKA_CONSUMER, o, all, {}, out);
}

status topic_partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms, int& partitions) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
  rd_kafka_topic_destroy(t);
  if (err) return error_status(err, "metadata of topic " + topic);
  status s = status::not_found("topic " + topic + " does not exist");
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic != md->topics[i].topic) continue;
    if (md->topics[i].err) {
      s = error_status(md->topics[i].err, "topic " + topic);
    } else {
      partitions = md->topics[i].partition_cnt;
      s = status::ok();
    }
  }
  rd_kafka_metadata_destroy(md);
  return s;
}

status create_topics(const options& o, int timeout_ms) {
  handle admin;
  if (auto s = make_producer(o, {{"allow.auto.create.topics", "false"}}, admin); !s) return s;
  struct spec {
    const std::string* name;
    int partitions;
    std::int64_t retention_ms;
  };
  spec specs[] = {{&o.commands_topic, o.commands_partitions, o.retention_ms},
                  {&o.events_topic, 1, o.retention_ms},
                  {&o.replies_topic, o.replies_partitions, o.replies_retention_ms}};
  std::vector<rd_kafka_NewTopic_t*> topics;
  char err[512];
  status s;
  for (const auto& sp : specs) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(sp.name->c_str(), sp.partitions, o.replication_factor, err, sizeof err);
    if (!t) {
      s = status::invalid_argument("topic " + *sp.name + ": " + err);
      break;
    }
    rd_kafka_NewTopic_set_config(t, "min.insync.replicas", std::to_string(o.min_insync_replicas).c_str());
    rd_kafka_NewTopic_set_config(t, "retention.ms", std::to_string(sp.retention_ms).c_str());
    rd_kafka_NewTopic_set_config(t, "retention.bytes", "-1");
    rd_kafka_NewTopic_set_config(t, "cleanup.policy", "delete");
    // The brokers stamp commands: their time is the ledger's log time.
    if (sp.name == &o.commands_topic) rd_kafka_NewTopic_set_config(t, "message.timestamp.type", "LogAppendTime");
    topics.push_back(t);
  }
  if (s) {
    rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());
    rd_kafka_AdminOptions_t* ao = rd_kafka_AdminOptions_new(admin.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, err, sizeof err);
    rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, err, sizeof err);
    rd_kafka_CreateTopics(admin.get(), topics.data(), topics.size(), ao, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (!ev) {
      s = status::unavailable("creating topics: no answer from the brokers");
    } else if (rd_kafka_event_error(ev)) {
      // Brokers that do not offer the admin API (or refuse it) leave the
      // decision to the metadata check below.
      s = status::ok();
    } else if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev)) {
      std::size_t n = 0;
      const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
      for (std::size_t i = 0; i < n && s; ++i) {
        auto e = rd_kafka_topic_result_error(results[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
          s = status::unavailable(std::string("creating topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
                                  (rd_kafka_topic_result_error_string(results[i]) ? rd_kafka_topic_result_error_string(results[i])
                                                                                 : rd_kafka_err2str(e)));
      }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
  }
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  if (!s) return s;
  for (const auto& sp : specs) {
    int parts = 0;
    if (auto ts = topic_partitions(admin.get(), *sp.name, timeout_ms, parts); !ts) return ts;
  }
  return status::ok();
}

status watermarks(rd_kafka_t* rk, const std::string& topic, int partition, int timeout_ms, std::int64_t& low,
                  std::int64_t& high) {
  // ListOffsets with the special times -2 (earliest) and -1 (latest): unlike
  // rd_kafka_query_watermark_offsets in librdkafka 2.0, it keeps its timeout
  // when the partition's leader is down.
  partition_list l(rd_kafka_topic_partition_list_new(2));
  rd_kafka_topic_partition_list_add(l.get(), topic.c_str(), partition)->offset = -2;
  auto err = rd_kafka_offsets_for_times(rk, l.get(), timeout_ms);
  if (!err) err = l->elems[0].err;
  if (err) return error_status(err, "offsets of " + topic);
  low = l->elems[0].offset;
  l->elems[0].offset = -1;
  err = rd_kafka_offsets_for_times(rk, l.get(), timeout_ms);
  if (!err) err = l->elems[0].err;
  if (err) return error_status(err, "offsets of " + topic);
  high = l->elems[0].offset;
  return status::ok();
}

std::optional<std::string_view> header(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const void* v = nullptr;
  std::size_t n = 0;
  if (rd_kafka_header_get_last(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string_view(static_cast<const char*>(v), n);
}

std::string be64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
  return s;
}

std::optional<std::uint64_t> from_be64(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

}  // namespace ledger::kafka
