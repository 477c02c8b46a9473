// What the benchmarks that drive a real ledgerd over HTTP share
// (documents_bench, documents_s3_bench, wallet_sessions_bench): timing,
// arguments, doctest checks outside test cases, and the document uploads
// both document benchmarks measure.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "documents/blob_crypto.h"
#include "tests/api/e2e_support.h"

namespace ledger::bench {

using steady = std::chrono::steady_clock;

inline double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

// The integer after `name` on the command line, or `fallback`.
inline int arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

// ledger_env checks its setup with doctest's CHECK/REQUIRE; outside a test
// run a failed check aborts the benchmark, naming the expression.
inline void abort_on_failed_checks(doctest::Context& checks) {
  checks.setAsDefaultForAssertsOutOfTestCases();
  checks.setAssertHandler([](const doctest::AssertData& d) {
    std::fprintf(stderr, "setup failed: %s at %s:%d\n", d.m_expr, d.m_file, d.m_line);
    std::abort();
  });
}

// Plain text (libmagic: text/plain) of `bytes`, distinct per index.
inline std::string content_of(std::size_t bytes, int i) {
  std::string s = "document " + std::to_string(i) + "\n";
  while (s.size() < bytes) s += "the quick brown fox jumps over the lazy dog " + std::to_string(s.size()) + "\n";
  s.resize(bytes);
  return s;
}

struct figures {
  int ok = 0;
  double seconds = 0;
};

// `n` sequential uploads of `bytes` each by alice, over HTTP.
inline figures http_uploads(e2e::ledger_env& env, std::size_t bytes, int n) {
  figures f;
  auto t0 = steady::now();
  for (int i = 0; i < n; ++i) {
    e2e::request r{"POST", "/v1/documents?category=other&file_name=bench-" + std::to_string(bytes) + "-" + std::to_string(i) + ".txt",
                   {{"Authorization", "Bearer " + env.alice}, {"Content-Type", "text/plain"},
                    {"Idempotency-Key", "b-" + std::to_string(bytes) + "-" + std::to_string(i)}},
                   content_of(bytes, i)};
    f.ok += env.call(r).status == 201 ? 1 : 0;
  }
  f.seconds = seconds_since(t0);
  return f;
}

// `n` blobs of `bytes` sealed into `store` directly: no HTTP, no engine.
inline figures store_only(documents::blob_store& store, std::size_t bytes, int n) {
  figures f;
  std::string key(32, 'k'), id;
  auto t0 = steady::now();
  for (int i = 0; i < n; ++i)
    f.ok += documents::seal_blob(store, key, "alice", "n" + std::to_string(i), content_of(bytes, i), id).is_ok() ? 1 : 0;
  f.seconds = seconds_since(t0);
  return f;
}

}  // namespace ledger::bench
