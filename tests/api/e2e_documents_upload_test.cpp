// Streamed uploads end to end against a ledgerd process: the upload route's
// own body limit (other routes keep theirs), multipart/form-data forms,
// thumbnails (made, served to the owner and members only, refused for a
// decompression bomb, deleted with the document), the bound on uploads at
// once, slow clients cut off, and crashes (kill -9 mid-body; a crash between
// the blob and the event) leaving no event, no document, and leftovers the
// orphan sweeper removes.
#include <doctest/doctest.h>

#include <vips/vips.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"

namespace ledger::e2e {

namespace {

namespace fs = std::filesystem;

std::string key_file(const fs::path& dir, const std::string& name, char fill) {
  fs::create_directories(dir);
  auto p = dir / name;
  std::ofstream(p) << std::string(64, fill) << "\n";
  return p.string();
}

std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& f : fs::recursive_directory_iterator(dir, ec)) n += f.is_regular_file() ? 1 : 0;
  return n;
}

// A ledgerd with documents on (scanning off), the given extra flags.
struct upload_env {
  testing::temp_dir keys{"upload-keys"};
  ledger_env env;
  explicit upload_env(std::vector<std::string> extra = {})
      : env([&] {
          ledgerd_options o;
          o.quiet = true;
          o.args = {"--master-key-file", "k1," + key_file(keys.path(), "k1", 'a'), "--clamd-socket", "off"};
          o.args.insert(o.args.end(), extra.begin(), extra.end());
          return o;
        }(), false) {}

  fs::path docs_dir() const { return env.proc.data_dir() / "documents"; }

  request upload_request(const std::string& query, const std::string& body, const std::string& content_type,
                         const std::string& token = "") {
    request r;
    r.method = "POST";
    r.target = "/v1/documents?" + query;
    r.body = body;
    r.headers.emplace_back("Authorization", "Bearer " + (token.empty() ? env.alice : token));
    if (!content_type.empty()) r.headers.emplace_back("Content-Type", content_type);
    r.headers.emplace_back("Idempotency-Key", env.next_key());
    return r;
  }
  response upload(const std::string& query, const std::string& body, const std::string& content_type) {
    return env.call(upload_request(query, body, content_type));
  }
  // Restarts ledgerd on the same data (after a crash or an exit).
  void restart(std::vector<std::string> extra) {
    auto& args = env.proc.options().args;
    args.insert(args.end(), extra.begin(), extra.end());
    env.proc.start();
    env.http = env.proc.client();
  }
};

// Images made by libvips itself: a gradient of w x h in PNG or JPEG.
std::string make_image(int w, int h, const char* format) {
  static bool ready = VIPS_INIT("e2e") == 0;
  REQUIRE(ready);
  VipsImage* im = nullptr;
  REQUIRE(vips_xyz(&im, w, h, nullptr) == 0);
  VipsImage* band = nullptr;
  REQUIRE(vips_extract_band(im, &band, 0, nullptr) == 0);
  VipsImage* u8 = nullptr;
  REQUIRE(vips_cast_uchar(band, &u8, nullptr) == 0);
  void* buf = nullptr;
  std::size_t len = 0;
  int rc = std::string(format) == "png" ? vips_pngsave_buffer(u8, &buf, &len, nullptr) : vips_jpegsave_buffer(u8, &buf, &len, nullptr);
  REQUIRE(rc == 0);
  std::string out(static_cast<char*>(buf), len);
  g_free(buf);
  g_object_unref(u8);
  g_object_unref(band);
  g_object_unref(im);
  return out;
}

// The width and height libvips reads in an image's header.
std::pair<int, int> image_size(const std::string& bytes) {
  VipsImage* im = vips_image_new_from_buffer(bytes.data(), bytes.size(), "", nullptr);
  REQUIRE(im != nullptr);
  std::pair<int, int> wh{vips_image_get_width(im), vips_image_get_height(im)};
  g_object_unref(im);
  return wh;
}

// A small PNG whose header declares w x h (its IHDR rewritten, CRC fixed):
// a decompression bomb's header.
std::string png_declaring(std::uint32_t w, std::uint32_t h) {
  std::string png = make_image(8, 8, "png");
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) png[at + std::size_t(i)] = char(v >> (24 - 8 * i));
  };
  REQUIRE(png.compare(12, 4, "IHDR") == 0);
  put32(16, w);
  put32(20, h);
  auto crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  put32(29, static_cast<std::uint32_t>(crc));
  return png;
}

std::string form_part(const std::string& boundary, const std::string& name, const std::string& value,
                      const std::string& filename = "", const std::string& type = "") {
  std::string s = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
  if (!filename.empty()) s += "; filename=\"" + filename + "\"";
  s += "\r\n";
  if (!type.empty()) s += "Content-Type: " + type + "\r\n";
  return s + "\r\n" + value + "\r\n";
}

const std::string pdf_head = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";

// A PDF of `n` bytes (libmagic reads the head; the rest is a comment).
std::string pdf_of(std::size_t n) {
  std::string s = pdf_head + "%";
  for (std::size_t i = 0; s.size() < n; ++i) s.push_back(char('a' + i % 26));
  return s;
}

}  // namespace

TEST_CASE("uploads stream under their own limit; every other route keeps --body-max-bytes") {
  upload_env u({"--upload-max-bytes", "6000000"});
  auto& env = u.env;
  std::string big = pdf_of(5'000'000);  // far above the 1 MiB body limit
  auto r = u.upload("category=ticket&file_name=big.pdf", big, "application/pdf");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto id = json(r.body).u64("/id");
  CHECK(json(r.body).u64("/size_bytes") == big.size());
  auto content = env.get("/v1/documents/" + std::to_string(id) + "/content", env.alice);
  REQUIRE(content.status == 200);
  CHECK(content.body == big);
  // Above the upload limit: 413, nothing recorded.
  auto head = env.seq();
  http_client c = env.proc.client();
  auto over = c.send_raw(serialize(u.upload_request("category=ticket&file_name=over.pdf", pdf_of(6'100'000), "application/pdf")));
  CHECK(over.status == 413);
  CHECK(json(over.body).str("/type") == "/problems/body-too-large");
  // Within the transport's allowance for forms but above the file limit:
  // the route's own 413.
  http_client c2 = env.proc.client();
  auto just = c2.send_raw(serialize(u.upload_request("category=ticket&file_name=over.pdf", pdf_of(6'000'001), "application/pdf")));
  CHECK(just.status == 413);
  CHECK(json(just.body).str("/detail") == "the document exceeds 6000000 bytes");
  // Another route with a 2 MB body: the general limit still applies.
  http_client c3 = env.proc.client();
  request dep;
  dep.method = "POST";
  dep.target = "/v1/deposits";
  dep.body = "{\"pad\":\"" + std::string(2'000'000, 'x') + "\"}";
  dep.headers = {{"Authorization", "Bearer " + env.service}, {"Content-Type", "application/json"}, {"Idempotency-Key", "k-big"}};
  auto refused = c3.send_raw(serialize(dep));
  CHECK(refused.status == 413);
  CHECK(env.seq() == head);
  CHECK(count_files(u.docs_dir() / "tmp") == 0);  // no spool left behind
}

TEST_CASE("multipart/form-data uploads: the file part streamed, fields from parts or the query, precise 400s") {
  upload_env u;
  auto& env = u.env;
  const std::string b = "----form7MA4YWxkTrZu0gW";
  const std::string type = "multipart/form-data; boundary=" + b;
  std::string file = pdf_of(200'000);
  std::string body = form_part(b, "category", "visa") +
                     form_part(b, "file", file, "Visa scan.pdf", "application/pdf") + "--" + b + "--\r\n";
  auto r = u.upload("", body, type);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto doc = json(r.body);
  CHECK(doc.str("/file_name") == "Visa scan.pdf");
  CHECK(doc.str("/category") == "visa");
  CHECK(doc.u64("/size_bytes") == file.size());
  CHECK(env.get("/v1/documents/" + std::to_string(doc.u64("/id")) + "/content", env.alice).body == file);
  // The query's file_name wins over the part's filename; a file_name part over the filename.
  auto q = u.upload("file_name=from-query.pdf", body, type);
  REQUIRE_MESSAGE(q.status == 201, q.body);
  CHECK(json(q.body).str("/file_name") == "from-query.pdf");
  auto p = u.upload("", form_part(b, "file_name", "from-part.pdf") + body, type);
  REQUIRE_MESSAGE(p.status == 201, p.body);
  CHECK(json(p.body).str("/file_name") == "from-part.pdf");

  auto head = env.seq();
  auto expect_400 = [&](const std::string& what, const std::string& content_type, const std::string& detail) {
    auto e = u.upload("", what, content_type);
    CHECK_MESSAGE(e.status == 400, e.body);
    CHECK_MESSAGE(json(e.body).str("/detail") == detail, e.body);
    u.env.http = u.env.proc.client();  // an answer before the body's end closes the connection
  };
  expect_400(body, "multipart/form-data", "Content-Type multipart/form-data needs a boundary parameter");
  expect_400(form_part(b, "category", "visa") + "--" + b + "--\r\n", type, "the form has no file part");
  expect_400(form_part(b, "file", file, "a.pdf") + form_part(b, "file", file, "b.pdf") + "--" + b + "--\r\n", type,
             "more than one file part");
  expect_400(form_part(b, "file", file, "a.pdf").substr(0, 100'000), type, "the multipart body ends before its closing boundary");
  expect_400("--" + b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + std::string(9000, 'n') + "\"\r\n\r\n" +
                 file + "\r\n--" + b + "--\r\n",
             type, "a part's headers exceed 8192 bytes");
  expect_400(form_part(b, "colour", "red") + body, type, "unknown part \"colour\"; expected file, category, file_name or group");
  // A disallowed type inside the form is the same 415 as for a raw body.
  auto gif = u.upload("", form_part(b, "category", "other") + form_part(b, "file", "GIF89a\x01\0\x01\0\x80\0\0", "x.gif") + "--" + b + "--\r\n", type);
  CHECK(gif.status == 415);
  CHECK(env.seq() == head);
}

TEST_CASE("thumbnails: 200x200 for JPEG and PNG, owner and members only, bombs refused, deleted with the document") {
  upload_env u;
  auto& env = u.env;
  std::string jpeg = make_image(640, 480, "jpeg");
  auto r = u.upload("category=passport&file_name=photo.jpg", jpeg, "image/jpeg");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto id = std::to_string(json(r.body).u64("/id"));
  CHECK(json(r.body).boolean("/thumbnail") == 1);
  auto t = env.get("/v1/documents/" + id + "/thumbnail", env.alice);
  REQUIRE_MESSAGE(t.status == 200, t.body);
  CHECK(t.header("content-type") == "image/jpeg");
  CHECK(image_size(t.body) == std::pair<int, int>(200, 150));  // fits inside, aspect kept
  CHECK(env.get("/v1/documents/" + id + "/thumbnail", env.bob).status == 404);  // a stranger
  // A tall PNG keeps PNG and its aspect.
  auto pr = u.upload("category=passport&file_name=scan.png", make_image(300, 900, "png"), "image/png");
  REQUIRE_MESSAGE(pr.status == 201, pr.body);
  auto pt = env.get("/v1/documents/" + std::to_string(json(pr.body).u64("/id")) + "/thumbnail", env.alice);
  REQUIRE(pt.status == 200);
  CHECK(pt.header("content-type") == "image/png");
  CHECK(image_size(pt.body) == std::pair<int, int>(67, 200));
  // A PDF has none: 404.
  auto pdf = u.upload("category=ticket&file_name=t.pdf", pdf_of(1000), "application/pdf");
  REQUIRE(pdf.status == 201);
  CHECK(json(pdf.body).boolean("/thumbnail") == 0);
  auto none = env.get("/v1/documents/" + std::to_string(json(pdf.body).u64("/id")) + "/thumbnail", env.alice);
  CHECK(none.status == 404);
  CHECK(json(none.body).str("/detail") == "the document has no thumbnail");
  // A header declaring 30000 x 30000: refused before decoding, nothing stored.
  auto head = env.seq();
  auto blobs = count_files(u.docs_dir() / "blobs");
  auto bomb = u.upload("category=other&file_name=bomb.png", png_declaring(30'000, 30'000), "image/png");
  CHECK(bomb.status == 422);
  CHECK(json(bomb.body).str("/type") == "/problems/image-too-large");
  CHECK(json(bomb.body).str("/detail").find("30000x30000") != std::string::npos);
  CHECK(env.seq() == head);
  CHECK(count_files(u.docs_dir() / "blobs") == blobs);
  // Deleting the JPEG removes its blob and its thumbnail's.
  request del;
  del.method = "DELETE";
  del.target = "/v1/documents/" + id;
  del.headers = {{"Authorization", "Bearer " + env.alice}};
  REQUIRE(env.call(del).status == 200);
  CHECK(count_files(u.docs_dir() / "blobs") == blobs - 2);
}

TEST_CASE("at most --uploads-max-concurrent uploads at once: beyond, 503 uploads-busy with Retry-After") {
  upload_env u({"--uploads-max-concurrent", "1"});
  auto& env = u.env;
  std::string file = pdf_of(300'000);
  request first = u.upload_request("category=ticket&file_name=a.pdf", file, "application/pdf");
  std::string wire = serialize(first);
  {
    raw_connection slow(env.proc.port());
    REQUIRE(slow.write(wire.substr(0, wire.size() - 100'000)));  // the upload holds its slot
    // The spool appears once the first 64 KiB are in: the upload is under way.
    REQUIRE(eventually([&] { return count_files(u.docs_dir() / "tmp") == 1; }, 10'000));
    auto busy = u.upload("category=ticket&file_name=b.pdf", file, "application/pdf");
    CHECK(busy.status == 503);
    CHECK(json(busy.body).str("/type") == "/problems/uploads-busy");
    CHECK(busy.header("retry-after") == "1");
    env.http = env.proc.client();
  }  // the first client leaves: its upload ends, its slot and spool go
  CHECK(eventually([&] { return count_files(u.docs_dir() / "tmp") == 0; }, 10'000));
  response ok;
  CHECK(eventually([&] {
    env.http = env.proc.client();
    ok = u.upload("category=ticket&file_name=c.pdf", file, "application/pdf");
    return ok.status == 201;
  }, 10'000));
}

TEST_CASE("a slow upload is cut off (idle timeout, overall deadline) and leaves no document, no event, no spool") {
  upload_env u({"--upload-idle-timeout-ms", "500", "--upload-deadline-ms", "3000"});
  auto& env = u.env;
  auto head = env.seq();
  std::string file = pdf_of(100'000);
  std::string wire = serialize(u.upload_request("category=ticket&file_name=slow.pdf", file, "application/pdf"));
  std::string first = wire.substr(0, wire.size() - file.size() + 70'000);  // past the sniff prefix: a spool exists
  {
    // Dribbled: a byte every 100 ms keeps it under the idle timeout; the
    // deadline ends it.
    raw_connection c(env.proc.port());
    REQUIRE(c.write(first));
    // (The timeout closes the socket: the client gets no answer.)
    std::string rest = wire.substr(first.size());
    auto res = c.send_slowly(rest, ms(100), ms(1000), ms(60'000));
    CHECK(res.closed);
    CHECK(res.bytes_sent < rest.size());
  }
  {
    // Stalled: nothing after half the body; the idle timeout ends it.
    raw_connection c(env.proc.port());
    REQUIRE(c.write(first));
    CHECK(c.wait_closed(ms(10'000)));
  }
  CHECK(env.seq() == head);
  // The socket closes before the upload's job lets its spool go: wait for that.
  CHECK(eventually([&] { return count_files(u.docs_dir() / "tmp") == 0; }, 10'000));
  CHECK(count_files(u.docs_dir() / "blobs") == 0);
  CHECK(json(env.get("/v1/documents", env.alice).body).size("/documents") == 0);
}

TEST_CASE("kill -9 during an upload: after restart no event, no document; the sweeper removes the spool") {
  upload_env u;
  auto& env = u.env;
  auto head = env.seq();
  std::string file = pdf_of(400'000);
  std::string wire = serialize(u.upload_request("category=ticket&file_name=crash.pdf", file, "application/pdf"));
  raw_connection c(env.proc.port());
  REQUIRE(c.write(wire.substr(0, wire.size() - file.size() / 2)));  // half the body
  REQUIRE(eventually([&] { return count_files(u.docs_dir() / "tmp") == 1; }, 10'000));
  env.proc.kill_now();
  CHECK(count_files(u.docs_dir() / "tmp") == 1);  // the crash left the spool
  u.restart({"--documents-sweep-grace-s", "0", "--documents-sweep-interval-ms", "100"});
  CHECK(eventually([&] { return count_files(u.docs_dir() / "tmp") == 0; }, 10'000));
  CHECK(env.seq() == head);
  CHECK(json(env.get("/v1/documents", env.alice).body).size("/documents") == 0);
  CHECK(count_files(u.docs_dir() / "blobs") == 0);
}

TEST_CASE("a crash between the blob and the event leaves no event; the sweeper removes the orphan blobs") {
  upload_env u({"--test-exit-after-blob-commit"});
  auto& env = u.env;
  auto head = env.seq();
  http_client c = env.proc.client();
  CHECK_THROWS(c.send(u.upload_request("category=passport&file_name=p.jpg", make_image(320, 240, "jpeg"), "image/jpeg")));
  REQUIRE(env.proc.wait_exit(ms(10'000)) == 86);
  CHECK(count_files(u.docs_dir() / "blobs") == 2);  // the image and its thumbnail, committed
  auto& args = env.proc.options().args;
  args.erase(std::remove(args.begin(), args.end(), "--test-exit-after-blob-commit"), args.end());
  u.restart({"--documents-sweep-grace-s", "0", "--documents-sweep-interval-ms", "100"});
  CHECK(env.seq() == head);
  CHECK(json(env.get("/v1/documents", env.alice).body).size("/documents") == 0);
  CHECK(eventually([&] { return count_files(u.docs_dir() / "blobs") == 0; }, 10'000));
}

}  // namespace ledger::e2e
