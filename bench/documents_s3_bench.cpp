// Wallet document uploads on the S3 backend (s3rver from npm on loopback)
// beside the local backend, both measured in the same run: for 100 KB and
// 5 MB files, the blob store alone (seal_blob: AES-256-GCM and the store's
// write path; for S3 one PUT, or a multipart upload, copy and delete above
// 5 MiB) and uploads over HTTP through ledgerd (libmagic, the blob, the
// upload_document command with its WAL fsync). Sequential, one client.
//
// Usage: documents_s3_bench [--small N] [--large N]   (needs tests/node_modules:
// tests/install_npm_packages.sh)
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "documents/blob_crypto.h"
#include "documents/s3_blob_store.h"
#include "bench/http_bench_support.h"
#include "tests/api/e2e_pg.h"

using namespace ledger;
using namespace ledger::e2e;
using namespace ledger::bench;

namespace {


void print(const std::string& what, std::size_t bytes, const figures& f) {
  std::printf("  %-36s %4d ok  %8.1f /s  %8.1f MB/s\n", what.c_str(), f.ok, f.ok / f.seconds, f.ok * double(bytes) / 1e6 / f.seconds);
}

// s3rver on loopback (tests/api/s3_server.js); its port.
unsigned short start_s3rver(const testing::temp_dir& dir, pid_t& pid) {
  std::string port_file = (dir.path() / "port").string(), data = (dir.path() / "data").string();
  std::string script = std::string(LEDGER_SOURCE_DIR) + "/tests/api/s3_server.js";
  pid = ::fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::setenv("NODE_PATH", (std::string(LEDGER_SOURCE_DIR) + "/tests/node_modules").c_str(), 1);
    ::execlp("node", "node", "--openssl-legacy-provider", script.c_str(), data.c_str(), port_file.c_str(), "bench", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  CHECK(eventually([&] { return std::filesystem::exists(port_file); }, 60'000));
  unsigned short port = 0;
  std::ifstream(port_file) >> port;
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context checks;
  bench::abort_on_failed_checks(checks);
  const int small = arg(argc, argv, "--small", 50), large = arg(argc, argv, "--large", 5);
  testing::temp_dir dir("bench-s3");
  pid_t s3_pid = -1;
  unsigned short port = start_s3rver(dir, s3_pid);
  std::string endpoint = "http://127.0.0.1:" + std::to_string(port);
  std::ofstream(dir.path() / "k1") << std::string(64, 'a') << "\n";
  std::ofstream(dir.path() / "s3key") << "S3RVER\n";
  std::vector<std::string> common = {"--rate-limit", "commands:0:0:60", "--master-key-file", "k1," + (dir.path() / "k1").string(),
                                     "--clamd-socket", "off", "--body-max-bytes", "8388608", "--quiet"};
  auto s3_args = common;
  for (std::string a : {"--blob-backend", "s3", "--s3-endpoint", endpoint.c_str(), "--s3-bucket", "bench"}) s3_args.push_back(a);
  for (std::string a : {"--s3-access-key-file", "--s3-secret-key-file"}) s3_args.insert(s3_args.end(), {a, (dir.path() / "s3key").string()});
  ledger_env local_env({.args = common, .quiet = true});
  ledger_env s3_env({.args = s3_args, .quiet = true});

  status st;
  auto local_store = documents::make_local_blob_store((dir.path() / "local").string(), st);
  documents::s3_settings s;
  s.endpoint = endpoint;
  s.bucket = "bench";
  s.prefix = "store-only/";
  s.credentials = {"S3RVER", "S3RVER"};
  auto s3_store = documents::s3_blob_store::make(s, st);
  CHECK(st.is_ok());
  std::printf("document uploads, one client, loopback: local backend (fsyncs) beside S3 (s3rver, node, its own disk writes)\n");
  for (auto [bytes, n] : {std::pair<std::size_t, int>{100'000, small}, {5'000'000, large}}) {
    std::string kb = std::to_string(bytes / 1000) + " KB";
    print("baseline: local blob store, " + kb, bytes, store_only(*local_store, bytes, n));
    print("s3 blob store, " + kb, bytes, store_only(*s3_store, bytes, n));
    print("baseline: uploads over HTTP, local, " + kb, bytes, http_uploads(local_env, bytes, n));
    print("uploads over HTTP, s3, " + kb, bytes, http_uploads(s3_env, bytes, n));
  }
  ::kill(s3_pid, SIGKILL);
  ::waitpid(s3_pid, nullptr, 0);
  return 0;
}
