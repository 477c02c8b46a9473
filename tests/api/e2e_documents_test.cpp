// Wallet documents end to end over real HTTP against a ledgerd process:
// uploads through the log, media types sniffed from the bytes, encrypted
// blobs, reads by owner and group members only (404 for everyone else on
// every route), deletion by the owner only, signed links (expiry,
// tampering, deletion), limits, and greps of the data directory, the
// PostgreSQL tables and the logs for a plain-text file name and content.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/api/e2e_pg.h"
#include "documents/link_signer.h"
#include "tests/api/e2e_files.h"
#include "tests/api/e2e_support.h"
#include "tests/api/sse_client.h"

namespace ledger::e2e {

namespace {

const std::string secret_name = "Quokka-Zanzibar-Passport.pdf";
const std::string secret_text = "Passport of Quokka Zanzibar, number QZ99887766, valid until 2031\n";
const std::string pdf = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
// A PNG signature and IHDR chunk: enough for libmagic.
const std::string png = std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90\x77\x53\xde", 33);
const std::string gif = "GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0;";

struct key_files {
  testing::temp_dir dir{"document-keys"};
  std::string file(const std::string& name, char fill) {
    auto p = dir.path() / name;
    std::ofstream(p) << std::string(64, fill) << "\n";
    return p.string();
  }
};

std::size_t count_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) n += f.is_regular_file() ? 1 : 0;
  return n;
}

struct docs_env {
  key_files keys;
  std::string conninfo;
  ledger_env env;
  explicit docs_env(const std::string& db, const std::string& clamd_socket = "off")
      : conninfo(e2e_pg().create_database(db)),
        env([&] {
          auto o = pg_options(conninfo, {"--master-key-file", "k1," + keys.file("k1", 'a'), "--document-link-key-file",
                                         keys.file("link", 'b'), "--upload-max-bytes", "100000", "--clamd-socket", clamd_socket});
          o.quiet = false;  // request logs on: the test greps them
          return o;
        }()) {}

  response upload(const std::string& token, const std::string& query, const std::string& body,
                  const std::string& content_type, std::string key = auto_key) {
    return env.call(upload_request(token, query, body, content_type, std::move(key)));
  }
  request upload_request(const std::string& token, const std::string& query, const std::string& body,
                         const std::string& content_type, std::string key = auto_key) {
    request r;
    r.method = "POST";
    r.target = "/v1/documents?" + query;
    r.body = body;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    if (!content_type.empty()) r.headers.emplace_back("Content-Type", content_type);
    if (key == auto_key) key = env.next_key();
    if (key != no_key) r.headers.emplace_back("Idempotency-Key", key);
    return r;
  }
  response del(const std::string& target, const std::string& token) {
    request r;
    r.method = "DELETE";
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    return env.call(r);
  }
  response put_members(std::uint64_t group, const std::string& members_json) {
    return put_group_members(env, group, members_json);
  }
};

// A real clamd from Debian's package, on a unix socket in a temporary
// directory, with a signature database the test writes: the EICAR test
// file's MD5 (no network, no downloaded databases).
class clamd_process {
 public:
  clamd_process() {
    std::filesystem::create_directories(dir_.path() / "db");
    std::ofstream(dir_.path() / "db" / "test.hdb") << "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n";
    std::ofstream(dir_.path() / "clamd.conf") << "LocalSocket " << socket() << "\nForeground yes\nDatabaseDirectory "
                                               << (dir_.path() / "db").string() << "\nLogFile "
                                               << (dir_.path() / "clamd.log").string() << "\nStreamMaxLength 30M\n";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::string conf = (dir_.path() / "clamd.conf").string();
      ::execl("/usr/sbin/clamd", "clamd", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE_MESSAGE(eventually([&] { return std::filesystem::exists(socket()); }, 60'000), "clamd did not start");
  }
  ~clamd_process() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string socket() const { return (dir_.path() / "clamd.sock").string(); }

 private:
  testing::temp_dir dir_{"clamd"};
  pid_t pid_ = -1;
};

const std::string eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

}  // namespace

TEST_CASE("documents: clamd scans every upload; EICAR is 422 naming the signature; a scanner down is 503") {
  clamd_process clamd;
  docs_env d("e2e_document_scan", clamd.socket());
  auto& env = d.env;
  REQUIRE(eicar.size() == 68);
  std::uint64_t head = env.seq();
  auto infected = d.upload(env.alice, "category=other&file_name=eicar.txt", eicar, "text/plain");
  CHECK(infected.status == 422);
  CHECK(json(infected.body).str("/type") == "/problems/infected-content");
  CHECK(json(infected.body).str("/detail").find("Eicar-Test-Signature") != std::string::npos);
  CHECK(env.seq() == head);  // nothing recorded, no blob kept
  CHECK(count_files(env.proc.data_dir() / "documents" / "blobs") == 0);
  auto clean = d.upload(env.alice, "category=other&file_name=clean.txt", secret_text, "text/plain");
  CHECK_MESSAGE(clean.status == 201, clean.body);
  // Fail closed: the scanner gone, uploads are refused.
  clamd.stop();
  auto down = d.upload(env.alice, "category=other&file_name=later.txt", secret_text, "text/plain");
  CHECK(down.status == 503);
  CHECK(json(down.body).str("/type") == "/problems/virus-scanner-unavailable");
}

TEST_CASE("documents: upload, read, list, delete through the log; owner and group members only; precise refusals") {
  docs_env d("e2e_documents");
  auto& env = d.env;
  const std::string q = "category=passport&file_name=" + pct(secret_name);

  // Uploads: the media type comes from the bytes.
  auto up = d.upload(env.alice, q, pdf, "application/pdf", "up-1");
  REQUIRE_MESSAGE(up.status == 201, up.body);
  json doc(up.body);
  std::uint64_t id = doc.u64("/id");
  CHECK(doc.str("/owner") == "alice");
  CHECK(doc.str("/file_name") == secret_name);
  CHECK(doc.str("/media_type") == "application/pdf");
  CHECK(doc.u64("/size_bytes") == pdf.size());
  CHECK(doc.str("/category") == "passport");
  CHECK(doc.str("/key_id") == "k1");
  CHECK(up.header("location") == "/v1/documents/" + std::to_string(id));
  // The same request again replays the same document.
  auto again = d.upload(env.alice, q, pdf, "application/pdf", "up-1");
  CHECK(again.status == 201);
  CHECK(again.header("idempotent-replayed") == "true");
  CHECK(json(again.body).u64("/id") == id);
  // No Content-Type (or octet-stream): the server decides.
  auto text = d.upload(env.alice, "category=other&file_name=notes.txt", secret_text, "");
  REQUIRE_MESSAGE(text.status == 201, text.body);
  CHECK(json(text.body).str("/media_type") == "text/plain");
  std::uint64_t text_id = json(text.body).u64("/id");

  // Wrong types: a precise 415, nothing recorded.
  std::uint64_t head = env.seq();
  auto gif_up = d.upload(env.alice, "category=other&file_name=a.gif", gif, "image/gif");
  CHECK(gif_up.status == 415);
  CHECK(json(gif_up.body).str("/type") == "/problems/unsupported-media-type");
  CHECK(json(gif_up.body).str("/detail").find("the content is image/gif") != std::string::npos);
  auto lie = d.upload(env.alice, "category=other&file_name=a.png", pdf, "image/png");
  CHECK(lie.status == 415);
  CHECK(json(lie.body).str("/detail") == "Content-Type says image/png but the content is application/pdf");
  // Bad parameters name the field.
  CHECK(json(d.upload(env.alice, "file_name=a.pdf", pdf, "application/pdf").body).str("/field") == "category");
  CHECK(json(d.upload(env.alice, "category=tax&file_name=a.pdf", pdf, "application/pdf").body).str("/field") == "category");
  CHECK(json(d.upload(env.alice, "category=visa", pdf, "application/pdf").body).str("/field") == "file_name");
  CHECK(json(d.upload(env.alice, "category=visa&file_name=..%2Fetc", pdf, "application/pdf").body).str("/field") == "file_name");
  CHECK(json(d.upload(env.alice, "category=visa&file_name=a&group=x", pdf, "application/pdf").body).str("/field") == "group");
  CHECK(d.upload(env.alice, q, "", "application/pdf").status == 400);
  CHECK(d.upload(env.alice, q, pdf, "application/pdf", no_key).status == 400);
  // Oversized: 413 from the transport, above --upload-max-bytes.
  // The transport answers and closes the connection, as for any body over its limit.
  http_client c = env.proc.client();
  auto big = c.send_raw(serialize(d.upload_request(env.alice, q, pdf + std::string(100'001, 'x'), "application/pdf")));
  CHECK(big.status == 413);
  CHECK(json(big.body).str("/type") == "/problems/body-too-large");
  CHECK(env.seq() == head);

  // Content comes back byte for byte, with its type and name.
  auto content = env.get("/v1/documents/" + std::to_string(id) + "/content", env.alice);
  REQUIRE(content.status == 200);
  CHECK(content.body == pdf);
  CHECK(content.header("content-type") == "application/pdf");
  CHECK(content.header("content-disposition") == "attachment; filename*=UTF-8''" + secret_name);

  // Groups: bob is a member of group 7 with alice; carol is not.
  REQUIRE(d.put_members(7, R"(["alice","bob"])").status == 200);
  auto shared = d.upload(env.alice, "category=ticket&file_name=ticket.png&group=7", png, "image/png");
  REQUIRE_MESSAGE(shared.status == 201, shared.body);
  std::uint64_t shared_id = json(shared.body).u64("/id");
  CHECK(json(shared.body).u64("/group") == 7);
  // Not a member: the ledger refuses (journaled), and nothing is listed.
  auto not_member = d.upload(env.bob, "category=ticket&file_name=t.png&group=8", png, "image/png");
  CHECK(not_member.status == 422);
  CHECK(json(not_member.body).str("/reason") == "not_group_member");

  std::string carol = env.proc.token("carol", "user");
  for (auto doc_id : {id, text_id, shared_id}) {
    std::string base = "/v1/documents/" + std::to_string(doc_id);
    INFO("document ", doc_id);
    for (const auto& path : {base, base + "/content", base + "/link"}) {
      CHECK(env.get(path, carol).status == 404);
      if (doc_id != shared_id) CHECK(env.get(path, env.bob).status == 404);
    }
    CHECK(d.del(base, carol).status == 404);
  }
  // A member reads the group's document but may not delete it.
  CHECK(env.get("/v1/documents/" + std::to_string(shared_id) + "/content", env.bob).body == png);
  CHECK(d.del("/v1/documents/" + std::to_string(shared_id), env.bob).status == 403);
  CHECK(d.del("/v1/documents/" + std::to_string(id), env.bob).status == 404);

  // Lists: the caller's and its groups', filtered, paged.
  auto mine = json(env.get("/v1/documents", env.alice).body);
  CHECK(mine.size("/documents") == 3);
  auto bobs = json(env.get("/v1/documents", env.bob).body);
  REQUIRE(bobs.size("/documents") == 1);
  CHECK(bobs.u64("/documents/0/id") == shared_id);
  CHECK(json(env.get("/v1/documents", carol).body).size("/documents") == 0);
  CHECK(json(env.get("/v1/documents?category=passport", env.alice).body).u64("/documents/0/id") == id);
  CHECK(json(env.get("/v1/documents?group=7", env.alice).body).size("/documents") == 1);
  auto page1 = json(env.get("/v1/documents?limit=2", env.alice).body);
  CHECK(page1.size("/documents") == 2);
  auto page2 = json(env.get("/v1/documents?limit=2&after=" + std::to_string(page1.u64("/next_after")), env.alice).body);
  CHECK(page2.size("/documents") == 1);
  CHECK(page2.u64("/documents/0/id") == shared_id);
  CHECK(env.get("/v1/documents?limit=1000", env.alice).status == 400);

  // Removing bob from the group ends his access.
  REQUIRE(d.put_members(7, R"(["alice"])").status == 200);
  CHECK(env.get("/v1/documents/" + std::to_string(shared_id), env.bob).status == 404);

  // Deletion: the owner; the blob goes, and the document is gone everywhere.
  auto blobs = env.proc.data_dir() / "documents" / "blobs";
  std::size_t before = count_files(blobs);
  auto del = d.del("/v1/documents/" + std::to_string(text_id), env.alice);
  REQUIRE_MESSAGE(del.status == 200, del.body);
  CHECK(count_files(blobs) == before - 1);
  CHECK(env.get("/v1/documents/" + std::to_string(text_id), env.alice).status == 404);
  CHECK(env.get("/v1/documents/" + std::to_string(text_id) + "/content", env.alice).status == 404);
  CHECK(json(env.get("/v1/documents", env.alice).body).size("/documents") == 2);
}

TEST_CASE("documents: signed links open one document until they expire, refused when tampered or after deletion") {
  docs_env d("e2e_document_links");
  auto& env = d.env;
  auto up = d.upload(env.alice, "category=visa&file_name=visa.pdf", pdf, "application/pdf");
  REQUIRE_MESSAGE(up.status == 201, up.body);
  std::uint64_t id = json(up.body).u64("/id");
  auto other = d.upload(env.alice, "category=visa&file_name=other.txt", secret_text, "text/plain");
  REQUIRE(other.status == 201);
  std::uint64_t other_id = json(other.body).u64("/id");

  auto link = env.get("/v1/documents/" + std::to_string(id) + "/link", env.alice);
  REQUIRE_MESSAGE(link.status == 200, link.body);
  std::string url = json(link.body).str("/url");
  // No token needed: the link is the credential.
  auto opened = env.get(url, "");
  REQUIRE_MESSAGE(opened.status == 200, opened.body);
  CHECK(opened.body == pdf);

  // Tampering: another document, another expiry, another signature.
  auto sig_at = url.find("&signature=");
  REQUIRE(sig_at != std::string::npos);
  std::string sig = url.substr(sig_at + 11);
  std::string expires = url.substr(url.find("expires=") + 8, sig_at - url.find("expires=") - 8);
  auto swapped = "/v1/documents/" + std::to_string(other_id) + "/content?expires=" + expires + "&signature=" + sig;
  CHECK(json(env.get(swapped, "").body).str("/type") == "/problems/link-invalid");
  auto later = "/v1/documents/" + std::to_string(id) + "/content?expires=" + std::to_string(std::stoll(expires) + 1) +
               "&signature=" + sig;
  CHECK(env.get(later, "").status == 403);
  std::string flipped = sig;
  flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
  CHECK(env.get("/v1/documents/" + std::to_string(id) + "/content?expires=" + expires + "&signature=" + flipped, "").status == 403);
  // Expired: a link signed with the same key for a past time (the key file is the test's).
  documents::link_signer signer;
  REQUIRE_FALSE(documents::link_signer::load((d.keys.dir.path() / "link").string(), signer).has_value());
  std::int64_t past = std::stoll(expires) - 3600;
  auto expired = env.get("/v1/documents/" + std::to_string(id) + "/content?expires=" + std::to_string(past) +
                             "&signature=" + signer.sign(id, past), "");
  CHECK(expired.status == 403);
  CHECK(json(expired.body).str("/type") == "/problems/link-expired");
  // A signature the test made for the future opens it: the check above could pass.
  std::int64_t future = std::stoll(expires) + 60;
  CHECK(env.get("/v1/documents/" + std::to_string(id) + "/content?expires=" + std::to_string(future) + "&signature=" +
                    signer.sign(id, future), "").status == 200);

  // After deletion the link opens nothing.
  REQUIRE(d.del("/v1/documents/" + std::to_string(id), env.alice).status == 200);
  CHECK(env.get(url, "").status == 404);
}

TEST_CASE("documents: no plain-text file name or content in RocksDB, blobs, PostgreSQL or logs; events carry metadata") {
  docs_env d("e2e_document_plaintext");
  auto& env = d.env;
  auto up = d.upload(env.alice, "category=health&file_name=" + pct(secret_name), secret_text, "text/plain");
  REQUIRE_MESSAGE(up.status == 201, up.body);
  std::string seq = up.header("ledger-seq");
  // The event reaches the journal pages with metadata only.
  auto events = env.get("/v1/events?after_seq=" + std::to_string(std::stoull(seq) - 1), env.admin);
  REQUIRE_MESSAGE(events.status == 200, events.body);
  CHECK(events.body.find("\"effect\":\"document_uploaded\"") != std::string::npos);
  CHECK(events.body.find("\"content_sha256\":\"") != std::string::npos);
  // Projected into the documents read model.
  REQUIRE(eventually([&] {
    return run("psql -Atc 'SELECT count(*) FROM ledger.documents WHERE document_id = " + seq + "' '" + d.conninfo + "'").second == "1\n";
  }));
  auto data_dir = env.proc.data_dir();
  REQUIRE(env.proc.stop() == 0);
  std::string log = env.proc.stderr_text() + env.proc.stdout_text();
  auto dump = run("pg_dump --data-only '" + d.conninfo + "'");
  REQUIRE_MESSAGE(dump.first == 0, dump.second);
  // Positive controls: the greps can fail.
  CHECK(dump.second.find("upload_document") != std::string::npos);
  CHECK(any_file_has(data_dir / "ledger", "enc1:"));
  CHECK(log.find("upload_document") != std::string::npos);
  for (const auto& secret : {secret_name, std::string("Quokka-Zanzibar"), std::string("QZ99887766")}) {
    INFO("plaintext ", secret);
    CHECK_FALSE(any_file_has(data_dir, secret));
    CHECK(dump.second.find(secret) == std::string::npos);
    CHECK(log.find(secret) == std::string::npos);
  }
}

TEST_CASE("documents: wallet.document.uploaded and .deleted reach the owner and the group's members, nobody else") {
  docs_env d("e2e_document_events");
  auto& env = d.env;
  REQUIRE(d.put_members(9, R"(["alice","bob"])").status == 200);
  std::string after = std::to_string(env.seq());
  std::string carol = env.proc.token("carol", "user");
  sse_client bob_stream(env.proc.port(), "/v1/events/stream?after_seq=" + after, env.bob);
  sse_client carol_stream(env.proc.port(), "/v1/events/stream?after_seq=" + after, carol);

  auto up = d.upload(env.alice, "category=ticket&file_name=" + pct(secret_name) + "&group=9", png, "image/png");
  REQUIRE_MESSAGE(up.status == 201, up.body);
  auto mine = d.upload(carol, "category=other&file_name=c.txt", secret_text, "text/plain");
  REQUIRE(mine.status == 201);

  auto e = bob_stream.next();
  REQUIRE(e);
  CHECK(e->id == up.header("ledger-seq"));
  json ev(e->data);
  CHECK(ev.str("/effects/0/topic") == "wallet.document.uploaded");
  CHECK(ev.u64("/effects/0/group") == 9);
  CHECK(ev.str("/principal") == "");  // redacted: bob did not issue it
  CHECK(e->data.find(secret_name) == std::string::npos);  // the name is ciphertext
  // Carol's first event is her own upload: alice's group upload never reached her.
  auto c = carol_stream.next();
  REQUIRE(c);
  CHECK(c->id == mine.header("ledger-seq"));

  auto del = d.del("/v1/documents/" + std::to_string(json(up.body).u64("/id")), env.alice);
  REQUIRE(del.status == 200);
  auto gone = bob_stream.next();
  REQUIRE(gone);
  CHECK(json(gone->data).str("/effects/0/topic") == "wallet.document.deleted");
}

}  // namespace ledger::e2e
