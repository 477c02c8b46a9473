// Wallet document uploads end to end against a real ledgerd over HTTP on
// loopback (local blob backend: encrypt, write, fsync, rename, then the
// upload_document command, WAL fsync), for 100 KB and 5 MB files, beside two
// baselines measured in the same run on the same disk:
//   - the blob store alone: seal_blob (AES-256-GCM + write + fsync +
//     rename + directory fsyncs), no HTTP, no engine;
//   - deposits over HTTP: one durable engine command, no content.
// Sequential, one client (each upload is durable before the next). Then
// ledgerd's resident memory: its peak during one 25 MiB upload (VmHWM, reset
// through /proc/PID/clear_refs first) beside its resident size just before.
// Default limits: uploads stream under --upload-max-bytes (25 MiB) while
// --body-max-bytes stays 1 MiB.
//
// --export N (default 0: off) adds the export: N documents of 5 MB
// uploaded, then GET /v1/documents/export (a streamed ZIP, read by curl into
// /dev/null) in MB/s beside two baselines of the same run: every document's
// content over HTTP (GET /v1/documents/{id}/content, one at a time), and the
// blob store's streaming decryption alone (documents::stream_blob, no HTTP).
// ledgerd's resident memory (VmRSS from /proc, sampled every 5 ms) is printed
// at idle and at its peak during the content downloads and the export.
//
// Usage: documents_bench [--small N] [--large N] [--export N]
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bench/http_bench_support.h"

using namespace ledger;
using namespace ledger::e2e;
using namespace ledger::bench;

namespace {


figures store_only(const std::string& dir, std::size_t bytes, int n) {
  status st;
  auto store = documents::make_local_blob_store(dir, st);
  return bench::store_only(*store, bytes, n);
}

// A field of /proc/PID/status in kB ("VmRSS", "VmHWM"), or -1.
long status_kb(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

void memory_during_upload(ledger_env& env, std::size_t bytes) {
  std::ofstream(("/proc/" + std::to_string(env.proc.pid()) + "/clear_refs").c_str()) << "5";  // resets VmHWM
  long before = status_kb(env.proc.pid(), "VmRSS");
  request r{"POST", "/v1/documents?category=other&file_name=bench-memory.txt",
            {{"Authorization", "Bearer " + env.alice}, {"Content-Type", "text/plain"}, {"Idempotency-Key", "b-memory"}},
            content_of(bytes, -1)};
  int code = static_cast<int>(env.call(r).status);
  long peak = status_kb(env.proc.pid(), "VmHWM");
  std::printf("  baseline: ledgerd resident before   %8.1f MiB\n", before / 1024.0);
  std::printf("  ledgerd peak during a %zu MiB upload %8.1f MiB (+%.1f MiB; HTTP %d)\n", bytes >> 20, peak / 1024.0,
              (peak - before) / 1024.0, code);
}

void print(const char* what, std::size_t bytes, const figures& f) {
  std::printf("  %-34s %4d ok  %8.1f /s  %8.1f MB/s\n", what, f.ok, f.ok / f.seconds, f.ok * double(bytes) / 1e6 / f.seconds);
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Runs `work` while sampling ledgerd's RSS; returns the peak in kB.
template <class F>
long peak_rss_during(pid_t pid, F work) {
  std::atomic<bool> done{false};
  long peak = rss_kb(pid);
  std::thread sampler([&] {
    while (!done) {
      peak = std::max(peak, rss_kb(pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  work();
  done = true;
  sampler.join();
  return peak;
}

void export_bench(ledger_env& env, const std::string& blob_dir, int n) {
  const std::size_t bytes = 5'000'000;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    request r{"POST", "/v1/documents?category=other&file_name=export-" + std::to_string(i) + ".txt",
              {{"Authorization", "Bearer " + env.alice}, {"Content-Type", "text/plain"}, {"Idempotency-Key", "x-" + std::to_string(i)}},
              content_of(bytes, 1000 + i)};
    auto res = env.call(r);
    if (res.status == 201) ids.push_back(res.header("ledger-seq"));
  }
  const double total_mb = double(ids.size()) * double(bytes) / 1e6;
  long idle = rss_kb(env.proc.pid());
  figures content;
  auto t0 = steady::now();
  long content_peak = peak_rss_during(env.proc.pid(), [&] {
    for (const auto& id : ids) content.ok += env.get("/v1/documents/" + id + "/content", env.alice).status == 200;
  });
  content.seconds = seconds_since(t0);
  status st;
  auto store = documents::make_local_blob_store(blob_dir, st);
  std::string key(32, 'k'), blob;
  documents::seal_blob(*store, key, "alice", "x", content_of(bytes, 0), blob);
  figures decrypt;
  t0 = steady::now();
  for (std::size_t i = 0; i < ids.size(); ++i)
    decrypt.ok += documents::stream_blob(*store, blob, key, "alice", [](std::string_view) { return true; }).is_ok();
  decrypt.seconds = seconds_since(t0);
  std::string curl = "curl -sS -o /dev/null -w '%{http_code} %{size_download}' -H 'Authorization: Bearer " + env.alice +
                     "' http://127.0.0.1:" + std::to_string(env.proc.port()) + "/v1/documents/export";
  std::string answer;
  t0 = steady::now();
  long export_peak = peak_rss_during(env.proc.pid(), [&] {
    FILE* p = ::popen(curl.c_str(), "r");
    char buf[128] = {};
    if (p && std::fgets(buf, sizeof buf, p)) answer = buf;
    if (p) ::pclose(p);
  });
  double export_s = seconds_since(t0);
  std::printf("document export, %zu documents of 5 MB (%.0f MB), one client\n", ids.size(), total_mb);
  std::printf("  baseline: stream_blob alone          %8.1f MB/s\n", decrypt.ok * double(bytes) / 1e6 / decrypt.seconds);
  std::printf("  baseline: content route, one by one  %8.1f MB/s  (%d ok)\n", content.ok * double(bytes) / 1e6 / content.seconds, content.ok);
  std::printf("  export (ZIP, chunked, two passes)    %8.1f MB/s  (curl: %s)\n", total_mb / export_s, answer.c_str());
  std::printf("  ledgerd RSS: idle %ld kB, peak during content downloads %ld kB, peak during the export %ld kB\n", idle,
              content_peak, export_peak);
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context checks;
  bench::abort_on_failed_checks(checks);
  const int small = arg(argc, argv, "--small", 200), large = arg(argc, argv, "--large", 20);
  const int exports = arg(argc, argv, "--export", 0);
  testing::temp_dir keys("bench-keys");
  std::ofstream(keys.path() / "k1") << std::string(64, 'a') << "\n";
  ledger_env env({.args = {"--rate-limit", "commands:0:0:60", "--master-key-file", "k1," + (keys.path() / "k1").string(),
                           "--clamd-socket", "off", "--quiet"},
                  .quiet = true});
  testing::temp_dir blobs("bench-blobs");
  if (small > 0 || large > 0) {
    auto wallet = env.open_wallet("bench-user");
    figures dep;
    auto t0 = steady::now();
    for (int i = 0; i < small; ++i)
      dep.ok += env.post("/v1/deposits", env.service,
                         R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":"1.00","provider":"stripe"})")
                            .status == 201;
    dep.seconds = seconds_since(t0);
    std::printf("document uploads, one client, ledgerd on loopback (local blob backend, fsyncs per upload)\n");
    std::printf("  baseline: deposits over HTTP      %4d ok  %8.1f /s\n", dep.ok, dep.ok / dep.seconds);
    for (auto [bytes, n] : {std::pair<std::size_t, int>{100'000, small}, {5'000'000, large}}) {
      print(("baseline: blob store, " + std::to_string(bytes / 1000) + " KB").c_str(), bytes,
            store_only((blobs.path() / std::to_string(bytes)).string(), bytes, n));
      print(("uploads over HTTP, " + std::to_string(bytes / 1000) + " KB").c_str(), bytes, http_uploads(env, bytes, n));
    }
  }
  memory_during_upload(env, 25u << 20);
  if (exports > 0) export_bench(env, (blobs.path() / "export").string(), exports);
  return 0;
}
