// The incremental multipart/form-data reader: the same parts whatever the
// split of the bytes, the precise errors, and random inputs (no crash, the
// buffered bytes bounded).
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "api/multipart.h"

namespace ledger::api {

namespace {

struct seen_part {
  multipart_part head;
  std::string body;
};

// Feeds `body` in the pieces `cuts` says (offsets), collecting the parts.
struct collector {
  std::vector<seen_part> parts;
  std::size_t largest_piece = 0;
  multipart_reader reader;
  explicit collector(const std::string& boundary, std::size_t header_max = 8 * 1024)
      : reader(boundary, events(), header_max) {}
  multipart_reader::events events() {
    multipart_reader::events ev;
    ev.begin = [this](const multipart_part& p) { return parts.push_back({p, ""}), std::string(); };
    ev.data = [this](std::string_view b) {
      largest_piece = std::max(largest_piece, b.size());
      parts.back().body.append(b);
      return std::string();
    };
    ev.end = [] { return std::string(); };
    return ev;
  }
  std::string run(const std::string& body, const std::vector<std::size_t>& cuts) {
    std::size_t at = 0;
    for (std::size_t c : cuts) {
      if (c <= at || c > body.size()) continue;
      if (auto e = reader.feed(std::string_view(body).substr(at, c - at)); !e.empty()) return e;
      at = c;
    }
    if (auto e = reader.feed(std::string_view(body).substr(at)); !e.empty()) return e;
    return reader.finish();
  }
};

const std::string boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

std::string form(const std::string& file_bytes) {
  return "preamble to ignore\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\npassport\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"my \\\"pass\\\".pdf\"\r\n"
         "Content-Type: application/pdf\r\n\r\n" +
         file_bytes + "\r\n--" + boundary + "--\r\nepilogue";
}

}  // namespace

TEST_CASE("multipart: the boundary from Content-Type, with precise refusals") {
  std::string why;
  CHECK(multipart_boundary("multipart/form-data; boundary=abc", why) == "abc");
  CHECK(multipart_boundary("multipart/form-data; charset=x; boundary=\"a b:c\"", why) == "a b:c");
  CHECK_FALSE(multipart_boundary("multipart/form-data", why));
  CHECK(why == "Content-Type multipart/form-data needs a boundary parameter");
  CHECK_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a'), why));
  CHECK(why.find("1 to 70") != std::string::npos);
  CHECK_FALSE(multipart_boundary("multipart/form-data; boundary=a{b", why));
  CHECK_FALSE(multipart_boundary("multipart/form-data; boundary=\"unterminated", why));
  CHECK(why == "the Content-Type's parameters are malformed");
}

TEST_CASE("multipart: the same parts and bytes whatever the split, every split point tried") {
  // The file holds CR, LF and a near-boundary ("\r\n--" + part of it).
  std::string file = "%PDF-1.4\r\n--" + boundary.substr(0, 10) + "\r\n\r\n" + std::string(300, 'x') + "\r\n-";
  std::string body = form(file);
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    collector c(boundary);
    REQUIRE(c.run(body, {cut}) == "");
    REQUIRE(c.parts.size() == 2);
    CHECK(c.parts[0].head.name == "category");
    CHECK(c.parts[0].body == "passport");
    CHECK(c.parts[1].head.name == "file");
    CHECK(c.parts[1].head.filename == "my \"pass\".pdf");
    CHECK(c.parts[1].head.content_type == "application/pdf");
    REQUIRE(c.parts[1].body == file);
  }
  // One byte at a time.
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < body.size(); ++i) every.push_back(i);
  collector c(boundary);
  REQUIRE(c.run(body, every) == "");
  CHECK(c.parts[1].body == file);
}

TEST_CASE("multipart: precise errors for truncated bodies, bad headers and limits") {
  std::string body = form("%PDF-1.4 content");
  for (std::size_t len : {std::size_t(0), std::size_t(5), body.size() / 2, body.find("--\r\nepilogue") + 1}) {
    collector c(boundary);
    auto e = c.run(body.substr(0, len), {});
    CHECK_MESSAGE((e == "the multipart body ends before its closing boundary" || e == "the multipart body has no boundary line"),
                  "length ", len, ": ", e);
  }
  collector big(boundary, 64);
  CHECK(big.run("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + std::string(100, 'n') +
                    "\"\r\n\r\nx\r\n--" + boundary + "--",
                {}) == "a part's headers exceed 64 bytes");
  collector no_name(boundary);
  CHECK(no_name.run("--" + boundary + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + boundary + "--", {}) ==
        "a part has no Content-Disposition: form-data with a name");
  collector bad_line(boundary);
  CHECK(bad_line.run("--" + boundary + "xy\r\n", {}) == "a boundary line must end with CRLF or \"--\"");
  collector not_form(boundary);
  CHECK(not_form.run("--" + boundary + "\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--" + boundary + "--", {}) ==
        "a part's Content-Disposition must be form-data");
  // An error from a handler stops the reader, and nothing is taken after.
  multipart_reader::events ev;
  ev.begin = [](const multipart_part& p) { return p.name == "file" ? std::string() : "unknown part " + p.name; };
  ev.data = [](std::string_view) { return std::string(); };
  ev.end = [] { return std::string(); };
  multipart_reader r(boundary, ev);
  CHECK(r.feed("--" + boundary + "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n") == "unknown part x");
  CHECK(r.feed("more") == "the multipart body was already refused");
}

TEST_CASE("multipart: random bytes and mutated forms never crash and stay bounded") {
  std::mt19937_64 rng(20261201);
  std::string base = form(std::string(5000, 'y'));
  for (int round = 0; round < 3000; ++round) {
    std::string body = base;
    int edits = 1 + int(rng() % 8);
    for (int i = 0; i < edits; ++i) {
      std::size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0: body[at] = char(rng()); break;
        case 1: body.erase(at, rng() % 40); break;
        default: body.insert(at, std::string(rng() % 40, "\r\n-ab\""[rng() % 6])); break;
      }
      if (body.empty()) body = "x";
    }
    if (round % 10 == 0) {
      body.clear();
      for (std::size_t n = rng() % 4000; n > 0; --n) body.push_back(char(rng()));
    }
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0; at < body.size(); at += 1 + rng() % 700) cuts.push_back(at);
    collector c(boundary, 512);
    std::string e = c.run(body, cuts);
    // The data handed out never exceeds what one feed holds plus a delimiter.
    CHECK(c.largest_piece <= 700 + boundary.size() + 4);
    std::size_t total = 0;
    for (const auto& p : c.parts) total += p.body.size();
    CHECK(total <= body.size());
    if (e.empty()) CHECK(c.reader.done());
  }
}

}  // namespace ledger::api
