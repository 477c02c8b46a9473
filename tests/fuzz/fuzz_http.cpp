// libFuzzer target for the HTTP request path, from bytes to responses: the
// bytes go through read_request() (the server's own Beast parser, limits and
// error mapping, api/http_wire.h), up to pipeline_max requests per input,
// and each request through the service: router, rate limiter, JWT
// verification (HS256 with a fixed test key, a fixed clock so the seed
// tokens stay valid), query strings, JSON bodies, the engine round trip on a
// real engine in a temporary directory, and read-model routes against a fake
// read side (a seam the API owns). Refused requests go to service::reject.
//
// Checked for every request: exactly one response, within 5 s; a status
// the HTTP grammar allows; bytes on the wire that Beast's response parser
// reads back whole with the same status and body; valid JSON whenever the
// content type is JSON; and a problem body whose "status" is the HTTP status.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <simdjson.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>

#include "api/http_wire.h"
#include "api/service.h"
#include "engine/engine.h"
#include "schemas/base.h"
#include "tests/support/manual_clock.h"

namespace {

using namespace ledger;
namespace http = boost::beast::http;

// The seed corpus's tokens are signed with this key (tests/fuzz/make_http_seeds.py).
constexpr std::string_view fuzz_hs256_secret = "fuzz-http-hs256-secret-0123456789abcdef";
constexpr std::int64_t fuzz_now_us = 1'700'000'000'000'000;  // the tokens' iat
constexpr std::size_t requests_per_input_max = 16;            // the server's pipeline_max

// Answers every query at once: ok with a small document, or not_found /
// invalid_argument by the query's id, so each answer path is taken.
class fake_reads final : public api::read_models {
 public:
  bool run(api::read_query q, api::read_done done) override {
    if (q.id % 3 == 1) done(status::not_found("not found"), {}, 7);
    else if (q.id % 3 == 2) done(status::invalid_argument("limit must be 1 to 200"), {}, 7);
    else done(status::ok(), R"({"transactions":[]})", 7);
    return true;
  }
};

std::unique_ptr<engine> open_engine(const std::filesystem::path& dir, ledger::clock& clk) {
  engine_options eo;
  eo.store.path = (dir / "store").string();
  eo.store.sync = false;  // nothing here needs to survive the process
  eo.snapshot_dir = (dir / "snapshots").string();
  eo.clk = &clk;
  std::unique_ptr<engine> e;
  status s = engine::open(eo, e);
  LEDGER_ASSERT(s.is_ok(), "opening the fuzz engine: %s", s.to_string().c_str());
  // Ids 1..5 as the seeds expect: payouts, fee_revenue, clearing:stripe,
  // alice's wallet (4), bob's (5).
  std::vector<command> setup = {
      {"setup", "1", "", open_account_cmd{account_kind::system, "payouts", {}}},
      {"setup", "2", "", open_account_cmd{account_kind::system, "fee_revenue", {}}},
      {"setup", "3", "", open_account_cmd{account_kind::system, "clearing:stripe", {}}},
      {"setup", "4", "", register_asset_cmd{"USD", 2, 1, amount_limit}},
      {"setup", "5", "", open_account_cmd{account_kind::user, "alice", {{"USD", 0, 0}}}},
      {"setup", "6", "", open_account_cmd{account_kind::user, "bob", {{"USD", 0, 0}}}},
  };
  std::promise<void> done;
  auto r = e->submit(std::move(setup), [&done](std::vector<outcome>&&) { done.set_value(); });
  LEDGER_ASSERT(r == append_result::ok, "setup not accepted");
  done.get_future().wait();
  return e;
}

// Everything one fuzzing process shares; built on the first input.
struct harness {
  testing::manual_clock clk{fuzz_now_us};
  std::filesystem::path dir;
  std::unique_ptr<engine> eng;
  std::unique_ptr<api::engine_backend> backend;
  std::unique_ptr<api::jwt_verifier> jwt;
  api::metrics m;
  api::logger log;
  api::local_limiter limits{clk};
  fake_reads reads;
  std::unique_ptr<api::service> svc;
  api::server_config wire;  // the server's default limits

  harness() {
    dir = std::filesystem::temp_directory_path() / ("fuzz_http." + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    eng = open_engine(dir, clk);
    backend = std::make_unique<api::engine_backend>(*eng);
    api::jwt_config jc;
    jc.hs256_secret = std::string(fuzz_hs256_secret);
    jc.issuer = "ledger";
    jc.audience = "ledger-api";
    auto err = api::jwt_verifier::create(jc, jwt);
    LEDGER_ASSERT(!err, "JWT config: %s", err ? err->c_str() : "");
    log.set_enabled(false);
    api::service_config sc;
    sc.reads = &reads;
    sc.limits = &limits;
    for (auto& c : sc.rate_limits.classes) c.principal_quota = c.address_quota = 1'000'000;
    sc.rate_limits.trusted_proxies = {"127.0.0.0/8"};
    sc.cors_origins = {"https://app.example"};
    svc = std::make_unique<api::service>(*backend, *jwt, sc, m, log, clk);
  }
  ~harness() {
    svc.reset();
    eng->stop();
    eng.reset();
    std::filesystem::remove_all(dir);
  }
};

harness& the_harness() {
  static harness h;
  return h;
}

// Waits for the one response of a request (the engine answers from its
// writer thread).
class one_response {
 public:
  api::responder responder() {
    return [this](api::http_response&& r) {
      std::lock_guard lock(mu_);
      LEDGER_ASSERT(!got_, "a second response for one request (status %u)", r.status);
      got_ = std::move(r);
      ready_.notify_all();
    };
  }
  api::http_response wait() {
    std::unique_lock lock(mu_);
    bool answered = ready_.wait_for(lock, std::chrono::seconds(5), [this] { return got_.has_value(); });
    LEDGER_ASSERT(answered, "no response within 5 s");
    return *got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::optional<api::http_response> got_;
};

void check_json(std::string_view body, unsigned status, bool problem) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto err = parser.parse(body.data(), body.size()).get(doc);
  LEDGER_ASSERT(!err, "status %u: body is not JSON: %.200s", status, std::string(body).c_str());
  if (!problem) return;
  std::uint64_t s = 0;
  LEDGER_ASSERT(!doc["status"].get_uint64().get(s), "problem without status: %.200s", std::string(body).c_str());
  LEDGER_ASSERT_EQ(s, std::uint64_t{status}, "problem status and HTTP status");
}

// The response as a client reads it: Beast parses the bytes back whole.
void check_response(api::http_response r, bool keep_alive) {
  const unsigned status = r.status;
  LEDGER_ASSERT(status >= 200 && status <= 599, "status %u", status);
  LEDGER_ASSERT(http::to_status_class(status) != http::status_class::unknown, "status %u", status);
  const std::string content_type = r.content_type, body = r.body;
  std::string bytes = api::write_response(std::move(r), keep_alive);
  http::response_parser<http::string_body> p;
  p.body_limit(64u << 20);
  boost::beast::error_code ec;
  std::size_t used = p.put(boost::asio::buffer(bytes), ec);
  while (!ec && !p.is_done() && used < bytes.size()) used += p.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
  LEDGER_ASSERT(!ec && p.is_done(), "response does not parse: %s", ec.message().c_str());
  LEDGER_ASSERT_EQ(used, bytes.size(), "response bytes read back");
  LEDGER_ASSERT_EQ(p.get().result_int(), status, "status read back");
  LEDGER_ASSERT(p.get().body() == body, "body read back differs");
  if (content_type.find("json") != std::string::npos && !body.empty())
    check_json(body, status, content_type == "application/problem+json");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& h = the_harness();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (std::size_t n = 0; n < requests_per_input_max && !in.empty(); ++n) {
    auto read = api::read_request(in, h.wire, true, "127.0.0.1:40000");
    LEDGER_ASSERT(read.what != api::wire_read::kind::incomplete, "incomplete at end of input");
    if (read.what == api::wire_read::kind::closed) break;
    one_response answer;
    if (read.what == api::wire_read::kind::refused) {
      h.svc->reject(std::move(read.request), read.error, answer.responder());
      check_response(answer.wait(), false);
      break;  // the connection closes after a refusal
    }
    LEDGER_ASSERT(read.consumed > 0 && read.consumed <= in.size(), "consumed %zu of %zu", read.consumed, in.size());
    h.svc->handle(std::move(read.request), answer.responder());
    check_response(answer.wait(), read.keep_alive);
    if (!read.keep_alive) break;
    in.remove_prefix(read.consumed);
  }
  return 0;
}
