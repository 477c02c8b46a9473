// The S3 blob store end to end: s3rver (npm) on loopback as the object
// store, ledgerd on the S3 backend over real HTTP, the AWS SDK
// (@aws-sdk/client-s3, @aws-sdk/s3-request-presigner) as an independent
// view of the bucket and of presigned URLs, the migration command from a
// local store, TLS with a certificate the test makes with the openssl CLI,
// virtual-host addressing, and provider-side encryption with redirects.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "documents/blob_migrate.h"
#include "documents/blob_store.h"
#include "documents/s3_blob_store.h"
#include "documents/s3_http.h"
#include "tests/api/e2e_files.h"
#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"

namespace ledger::e2e {

namespace {

const std::string bucket = "ledger-docs";
const std::string secret_text = "Boarding pass of Wombat Quetzal, seat 17C, booking WQ4455\n";
const std::string node_dir = std::string(LEDGER_SOURCE_DIR) + "/tests";

// A node script (tests/api/) in a child process that writes the port it
// listens on to PORT_FILE (its dir()/port); killed at the end.
class node_process {
 public:
  node_process(const std::string& script, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"node", "--openssl-legacy-provider", std::string(LEDGER_SOURCE_DIR) + "/tests/api/" + script};
    for (const auto& a : args) argv.push_back(a == "PORT_FILE" ? port_file() : a == "DIR" ? dir().string() : a);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::setenv("NODE_PATH", (node_dir + "/node_modules").c_str(), 1);
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execvp("node", raw.data());
      ::_exit(127);
    }
    REQUIRE_MESSAGE(eventually([&] { return std::filesystem::exists(port_file()); }, 60'000), script << " did not start");
    std::ifstream(port_file()) >> port_;
    REQUIRE(port_ > 0);
  }
  ~node_process() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  unsigned short port() const { return port_; }
  std::filesystem::path dir() const { return dir_.path(); }
  std::string http_endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string port_file() const { return (dir_.path() / "port").string(); }
  testing::temp_dir dir_{"node-helper"};
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

// s3rver (tests/api/s3_server.js): http, or https with a key and certificate.
struct s3rver_process : node_process {
  explicit s3rver_process(const std::string& key_pem = "", const std::string& cert_pem = "")
      : node_process("s3_server.js", key_pem.empty() ? std::vector<std::string>{"DIR", "PORT_FILE", bucket}
                                                     : std::vector<std::string>{"DIR", "PORT_FILE", bucket, key_pem, cert_pem}) {}
  // s3rver's objects (under the helper's directory).
  std::filesystem::path data() const { return dir(); }
};

// tests/api/s3_verify_proxy.js before s3rver: every request's signature
// recomputed by the AWS SDK's signer; "CHECKED REFUSED" counts.
struct verify_proxy : node_process {
  explicit verify_proxy(const s3rver_process& s3) : node_process("s3_verify_proxy.js", {std::to_string(s3.port()), "PORT_FILE"}) {}
  std::pair<int, int> counts() {
    http_client c(port());
    auto r = c.send(request{"GET", "/__verified", {}, ""});
    int checked = -1, refused = -1;
    std::sscanf(r.body.c_str(), "%d %d", &checked, &refused);
    return {checked, refused};
  }
};

// Key files for ledgerd: the master key, the link key, the S3 keys.
struct s3_files {
  testing::temp_dir dir{"s3-keys"};
  std::string write(const std::string& name, const std::string& text) {
    auto p = dir.path() / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::vector<std::string> s3_args(const std::string& endpoint) {
    return {"--blob-backend", "s3", "--s3-endpoint", endpoint, "--s3-bucket", bucket,
            "--s3-access-key-file", write("access", "S3RVER\n"), "--s3-secret-key-file", write("secret", "S3RVER\n")};
  }
  std::vector<std::string> doc_args() {
    return {"--master-key-file", "k1," + write("k1", std::string(64, 'a')), "--document-link-key-file", write("link", std::string(64, 'b')),
            "--clamd-socket", "off", "--upload-max-bytes", "8000000", "--body-max-bytes", "9000000"};
  }
};

ledgerd_options options_of(std::vector<std::string> a, const std::vector<std::string>& b) {
  ledgerd_options o;
  o.quiet = true;
  a.insert(a.end(), b.begin(), b.end());
  o.args = std::move(a);
  return o;
}

response upload(ledger_env& env, const std::string& name, const std::string& body) {
  request r;
  r.method = "POST";
  r.target = "/v1/documents?category=ticket&file_name=" + name;
  r.body = body;
  r.headers = {{"Authorization", "Bearer " + env.alice}, {"Content-Type", "text/plain"}, {"Idempotency-Key", env.next_key()}};
  return env.call(r);
}

response del(ledger_env& env, std::uint64_t id) {
  request r;
  r.method = "DELETE";
  r.target = "/v1/documents/" + std::to_string(id);
  r.headers = {{"Authorization", "Bearer " + env.alice}};
  return env.call(r);
}

// A blob store on the s3rver, for looking at the bucket from the test.
std::unique_ptr<documents::s3_blob_store> store_on(const std::string& endpoint) {
  documents::s3_settings s;
  s.endpoint = endpoint;
  s.bucket = bucket;
  s.credentials = {"S3RVER", "S3RVER"};
  status st;
  auto store = documents::s3_blob_store::make(s, st);
  REQUIRE_MESSAGE(st, st.to_string());
  return store;
}

std::set<std::string> blob_ids(documents::blob_store& store) {
  std::set<std::string> ids;
  REQUIRE(store.list(1000, [&](const documents::blob_entry& e) {
    if (!e.id.empty()) ids.insert(e.id);
    return true;
  }));
  return ids;
}

// The AWS SDK's answer (tests/api/s3_presign.js).
std::string sdk(const std::string& args) {
  auto [rc, out] = run("NODE_PATH='" + node_dir + "/node_modules' node --no-warnings '" + std::string(LEDGER_SOURCE_DIR) +
                       "/tests/api/s3_presign.js' " + args);
  REQUIRE_MESSAGE(rc == 0, out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A text of `n` bytes that libmagic calls text/plain and that holds `marker`.
std::string big_text(std::size_t n, const std::string& marker) {
  std::string s = marker;
  for (std::size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " of a long itinerary\n";
  s.resize(n);
  return s;
}

}  // namespace

TEST_CASE("s3 backend: upload, list, download byte for byte, delete; ciphertext in the bucket; the sweeper's listing") {
  s3rver_process s3;
  verify_proxy proxy(s3);  // s3rver accepts any signature; the proxy checks ours with the AWS SDK's signer
  s3_files files;
  ledger_env env(options_of(files.doc_args(), files.s3_args(proxy.http_endpoint())));
  auto store = store_on(proxy.http_endpoint());

  auto small = upload(env, "pass.txt", secret_text);
  REQUIRE_MESSAGE(small.status == 201, small.body);
  // Over one 5 MiB part: a multipart upload, completed and copied into place.
  const std::string large_text = big_text(6'500'000, "Itinerary of Wombat Quetzal\n");
  auto large = upload(env, "itinerary.txt", large_text);
  REQUIRE_MESSAGE(large.status == 201, large.body);
  std::uint64_t small_id = json(small.body).u64("/id"), large_id = json(large.body).u64("/id");
  auto ids = blob_ids(*store);
  CHECK(ids.size() == 2);

  auto list = env.get("/v1/documents", env.alice);
  REQUIRE(list.status == 200);
  CHECK(json(list.body).size("/documents") == 2);
  auto got_small = env.get("/v1/documents/" + std::to_string(small_id) + "/content", env.alice);
  CHECK(got_small.status == 200);
  CHECK(got_small.body == secret_text);
  auto got_large = env.get("/v1/documents/" + std::to_string(large_id) + "/content", env.alice);
  CHECK(got_large.status == 200);
  CHECK(got_large.body.size() == large_text.size());
  CHECK(got_large.body == large_text);

  // What the provider holds is the ledger's ciphertext: the grep reads the
  // objects (it finds the blob format's magic) but not the content.
  CHECK(any_file_has(s3.data(), "ldoc1"));
  CHECK_FALSE(any_file_has(s3.data(), secret_text));
  CHECK_FALSE(any_file_has(s3.data(), "Itinerary of Wombat Quetzal"));
  // No temporary object is left by the multipart upload.
  bool temporaries = false;
  REQUIRE(store->list(1000, [&](const documents::blob_entry& e) { return !(temporaries = e.id.empty()); }));
  CHECK_FALSE(temporaries);

  // Deletion removes the object (the AWS SDK no longer finds it).
  std::string small_blob;
  for (const auto& id : ids) {
    std::string sha;
    REQUIRE(documents::blob_sha256(*store, id, sha));
    CHECK(sha == id);
    if (sdk("head " + s3.http_endpoint() + " " + bucket + " documents/blobs/" + id) == "present " + std::to_string(secret_text.size() + 33))
      small_blob = id;
  }
  REQUIRE(!small_blob.empty());
  CHECK(del(env, small_id).status == 200);
  CHECK(sdk("head " + s3.http_endpoint() + " " + bucket + " documents/blobs/" + small_blob) == "absent");
  CHECK(env.get("/v1/documents/" + std::to_string(small_id) + "/content", env.alice).status == 404);

  // The sweeper's view: an orphan blob and a leftover temporary object go,
  // the live blob stays.
  std::unique_ptr<documents::blob_writer> w;
  REQUIRE(store->create(w));
  REQUIRE(w->write("an orphan"));
  std::string orphan;
  REQUIRE(w->commit(orphan));
  documents::s3_connection c(store->settings(), nullptr);
  documents::s3_http_request put{"PUT", "documents/tmp/leftover", {}, {}, "partial", false};
  documents::s3_http_response res;
  REQUIRE(c.send(put, res));
  REQUIRE(res.status == 200);
  auto live = blob_ids(*store);
  live.erase(orphan);
  documents::sweep_report rep;
  REQUIRE(documents::sweep_orphans(*store, [&](std::string_view id) { return live.count(std::string(id)) > 0; }, 0, 1000, rep));
  CHECK(rep.orphans_removed == 1);
  CHECK(rep.temporaries_removed == 1);
  CHECK(blob_ids(*store) == live);
  CHECK(env.get("/v1/documents/" + std::to_string(large_id) + "/content", env.alice).body == large_text);
  // Every request of ledgerd and of the test's store went through the
  // proxy's check (HEAD, PUT, multipart, copy, ranged GETs, lists, DELETE).
  auto [checked, refused] = proxy.counts();
  CHECK(checked > 20);
  CHECK(refused == 0);
  // The check can fail: a wrong secret is refused.
  auto wrong = store_on(proxy.http_endpoint());
  documents::s3_settings ws = wrong->settings();
  ws.credentials.secret_key = "NOT-S3RVER";
  status wst;
  auto bad = documents::s3_blob_store::make(ws, wst);
  REQUIRE(wst);
  auto denied = bad->check_access();
  CHECK_FALSE(denied);
  CHECK_MESSAGE(denied.to_string().find("403") != std::string::npos, denied.to_string());
  CHECK(proxy.counts().second == 1);
}

TEST_CASE("s3 migration: every local blob copied and verified, idempotent, resumable; ledgerd then serves from S3") {
  s3rver_process s3;
  s3_files files;
  ledger_env env(options_of(files.doc_args(), {}));
  auto a = upload(env, "a.txt", secret_text);
  auto b = upload(env, "b.txt", big_text(5'500'000, "Visa of Wombat Quetzal\n"));
  REQUIRE_MESSAGE(a.status == 201, a.body);
  REQUIRE_MESSAGE(b.status == 201, b.body);
  auto a_body = env.get("/v1/documents/" + std::to_string(json(a.body).u64("/id")) + "/content", env.alice).body;
  auto b_body = env.get("/v1/documents/" + std::to_string(json(b.body).u64("/id")) + "/content", env.alice).body;
  auto docs = env.proc.data_dir() / "documents";
  // A damaged local blob (its bytes no longer hash to its name) is reported, not copied.
  std::string bad(64, 'f');
  std::filesystem::create_directories(docs / "blobs" / "ff");
  std::ofstream(docs / "blobs" / "ff" / bad) << "damaged";

  std::string cmd = std::string(LEDGERD_PATH) + " documents-migrate-to-s3 --documents-dir " + docs.string();
  for (const auto& arg : files.s3_args(s3.http_endpoint())) cmd += " '" + arg + "'";
  auto [rc1, out1] = run(cmd);
  CHECK(rc1 == 1);
  CHECK_MESSAGE(out1.find(R"({"copied":2,"already_there":0,"failed":1})") != std::string::npos, out1);
  CHECK_MESSAGE(out1.find("blob " + bad + ": corruption: the source's bytes hash to") != std::string::npos, out1);
  std::filesystem::remove(docs / "blobs" / "ff" / bad);
  auto [rc2, out2] = run(cmd);
  CHECK(rc2 == 0);
  CHECK_MESSAGE(out2.find(R"({"copied":0,"already_there":2,"failed":0})") != std::string::npos, out2);
  auto store = store_on(s3.http_endpoint());
  CHECK(blob_ids(*store).size() == 2);
  // A bad flag is a precise start-up error.
  auto [rc3, out3] = run(cmd + " --s3-addressing sideways");
  CHECK(rc3 != 0);
  CHECK_MESSAGE(out3.find("--s3-addressing: must be path or virtual, not sideways") != std::string::npos, out3);
  auto [rc4, out4] = run(cmd + " --s3-provider-encryption");
  CHECK(rc4 != 0);
  CHECK_MESSAGE(out4.find("documents-migrate-to-s3 copies the ledger-encrypted blobs as they are") != std::string::npos, out4);
  auto [rc5, out5] = run(std::string(LEDGERD_PATH) + " documents-migrate-to-s3 --documents-dir " + docs.string() +
                         " --s3-endpoint ftp://x --s3-bucket b3 --s3-access-key-file " + files.write("a2", "S3RVER") +
                         " --s3-secret-key-file " + files.write("s2", "S3RVER"));
  CHECK(rc5 != 0);
  CHECK_MESSAGE(out5.find("--s3-endpoint: must start with http:// or https://, not ftp://x") != std::string::npos, out5);

  // The same ledger on the S3 backend, local blobs gone: the same content.
  env.proc.stop();
  std::filesystem::remove_all(docs / "blobs");
  for (const auto& arg : files.s3_args(s3.http_endpoint())) env.proc.options().args.push_back(arg);
  env.proc.start();
  env.http = env.proc.client();
  CHECK(env.get("/v1/documents/" + std::to_string(json(a.body).u64("/id")) + "/content", env.alice).body == a_body);
  CHECK(env.get("/v1/documents/" + std::to_string(json(b.body).u64("/id")) + "/content", env.alice).body == b_body);
  CHECK(a_body == secret_text);
}

TEST_CASE("s3 presigned URLs: the same signature as the AWS SDK's presigner, and s3rver serves them") {
  s3rver_process s3;
  auto store = store_on(s3.http_endpoint());
  std::unique_ptr<documents::blob_writer> w;
  REQUIRE(store->create(w));
  REQUIRE(w->write(secret_text));
  std::string id;
  REQUIRE(w->commit(id));
  const std::int64_t at = 1'764'547'200;  // a fixed time: 2025-12-01T00:00:00Z
  std::string theirs = sdk("presign " + s3.http_endpoint() + " " + bucket + " " + store->key_of(id) + " " + std::to_string(at) + " 300");
  // The SDK adds query parameters of its own (x-id, checksum mode, the
  // payload hash); given the same ones, our signer must agree exactly.
  auto q = theirs.substr(theirs.find('?') + 1);
  std::vector<std::pair<std::string, std::string>> extra;
  std::string their_signature;
  for (std::size_t at_q = 0; at_q <= q.size();) {
    auto end = q.find('&', at_q);
    if (end == std::string::npos) end = q.size();
    auto kv = q.substr(at_q, end - at_q);
    auto eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "X-Amz-Signature") their_signature = v;
    else if (k != "X-Amz-Algorithm" && k != "X-Amz-Credential" && k != "X-Amz-Date" && k != "X-Amz-Expires" && k != "X-Amz-SignedHeaders")
      extra.emplace_back(k, v);  // these values need no decoding
    at_q = end + 1;
  }
  REQUIRE(their_signature.size() == 64);
  auto t = documents::s3_target_of(store->settings(), store->key_of(id));
  documents::sigv4_request r{"GET", t.path, extra, {{"host", t.host_header}}, std::string(documents::unsigned_payload)};
  std::string ours = documents::sigv4_presign_query(r, store->settings().credentials, "us-east-1", documents::amz_date(at), 300);
  CHECK(ours.substr(ours.find("X-Amz-Signature=") + 16) == their_signature);
  // Our own URL, made now, fetches the object. (s3rver does not check
  // SigV4 signatures, so the comparison above is what checks ours.)
  std::string url = store->presigned_get_url(id, 60, static_cast<std::int64_t>(std::time(nullptr)));
  std::string target = url.substr(url.find('/', 8));
  http_client c(s3.port());
  auto got = c.send(request{"GET", target, {}, ""});
  CHECK(got.status == 200);
  CHECK(got.body == secret_text);
}

TEST_CASE("s3 over TLS with virtual-host addressing and provider-side encryption: content answers 307 to a presigned URL") {
  testing::temp_dir tls{"s3-tls"};
  auto key = (tls.path() / "key.pem").string(), cert = (tls.path() / "cert.pem").string();
  auto [rc, out] = run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=s3.localhost -keyout '" + key + "' -out '" + cert +
                       "' -addext 'subjectAltName=DNS:s3.localhost,DNS:*.s3.localhost'");
  REQUIRE_MESSAGE(rc == 0, out);
  s3rver_process s3(key, cert);
  s3_files files;
  std::string endpoint = "https://s3.localhost:" + std::to_string(s3.port());
  auto args = files.s3_args(endpoint);
  for (std::string a : {"--s3-addressing", "virtual", "--s3-ca-file", cert.c_str(), "--s3-provider-encryption"}) args.push_back(a);

  // Without the test's trust anchor, the certificate is refused at start.
  {
    auto [no_rc, no_out] = run(std::string("LEDGER_JWT_HS256_SECRET=") + std::string(test_hs256_secret) + " " + LEDGERD_PATH +
                               " --data-dir '" + (tls.path() / "refused").string() + "' --listen 127.0.0.1:0 --blob-backend s3 --s3-endpoint " +
                               endpoint + " --s3-bucket " + bucket + " --s3-access-key-file " + args[7] + " --s3-secret-key-file " + args[9]);
    CHECK(no_rc == 2);
    CHECK_MESSAGE(no_out.find("TLS handshake") != std::string::npos, no_out);
    CHECK_MESSAGE(no_out.find("certificate verify failed") != std::string::npos, no_out);
  }

  ledger_env env(options_of(files.doc_args(), args));
  auto up = upload(env, "pass.txt", secret_text);
  REQUIRE_MESSAGE(up.status == 201, up.body);
  auto got = env.get("/v1/documents/" + std::to_string(json(up.body).u64("/id")) + "/content", env.alice);
  CHECK(got.status == 307);
  std::string location = got.header("location");
  CHECK_MESSAGE(location.rfind("https://" + bucket + ".s3.localhost:" + std::to_string(s3.port()) + "/documents/blobs/", 0) == 0, location);
  CHECK(location.find("X-Amz-Signature=") != std::string::npos);
  // The presigned URL serves the content over TLS (curl checks the certificate).
  auto [crc, body] = run("curl -sS --fail --cacert '" + cert + "' --resolve " + bucket + ".s3.localhost:" + std::to_string(s3.port()) +
                         ":127.0.0.1 '" + location + "'");
  CHECK_MESSAGE(crc == 0, body);
  CHECK(body == secret_text);
  // The ledger did not encrypt: the provider holds the content as sent
  // (s3rver does not implement server-side encryption; real S3 would).
  CHECK(any_file_has(s3.data(), secret_text));
  // Another user: 404, no redirect.
  CHECK(env.get("/v1/documents/" + std::to_string(json(up.body).u64("/id")) + "/content", env.bob).status == 404);
}

}  // namespace ledger::e2e
