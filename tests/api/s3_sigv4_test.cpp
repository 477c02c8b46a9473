// SigV4 against AWS's published examples (the S3 "Signature Version 4"
// documentation: the GET Object example with a Range header, and the
// presigned-URL example, both with the example keys AKIAIOSFODNN7EXAMPLE),
// and the request targets of path-style and virtual-host addressing.
#include <doctest/doctest.h>

#include "documents/s3_blob_store.h"
#include "documents/sigv4.h"

namespace ledger::documents {

namespace {

const s3_credentials example_keys{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
const std::string empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace

TEST_CASE("sigv4: AWS's GET Object example gives AWS's signature") {
  sigv4_request r{"GET", "/test.txt", {}, {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
                                             {"x-amz-content-sha256", empty_sha256}, {"x-amz-date", "20130524T000000Z"}},
                  empty_sha256};
  std::string canonical;
  std::string auth = sigv4_authorization(r, example_keys, "us-east-1", "20130524T000000Z", &canonical);
  CHECK(canonical ==
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:" + empty_sha256 +
            "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" + empty_sha256);
  CHECK(auth ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  // A changed byte anywhere changes the signature (the check can fail).
  r.headers[1].second = "bytes=0-8";
  CHECK(sigv4_authorization(r, example_keys, "us-east-1", "20130524T000000Z").find("f0e8bdb87c9644") == std::string::npos);
}

TEST_CASE("sigv4: AWS's presigned URL example gives AWS's signature") {
  sigv4_request r{"GET", "/test.txt", {}, {{"host", "examplebucket.s3.amazonaws.com"}}, std::string(unsigned_payload)};
  CHECK(sigv4_presign_query(r, example_keys, "us-east-1", "20130524T000000Z", 86400) ==
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST_CASE("sigv4: dates, encoding, and header values trimmed") {
  CHECK(amz_date(1369353600) == "20130524T000000Z");
  CHECK(uri_encode("a b/c~d+e", true) == "a%20b/c~d%2Be");
  CHECK(uri_encode("a b/c", false) == "a%20b%2Fc");
  sigv4_request a{"GET", "/k", {}, {{"host", "h"}, {"x-amz-meta-a", "  one   two "}}, empty_sha256};
  sigv4_request b{"GET", "/k", {}, {{"HOST", "h"}, {"X-Amz-Meta-A", "one two"}}, empty_sha256};
  CHECK(sigv4_authorization(a, example_keys, "us-east-1", "20130524T000000Z") ==
        sigv4_authorization(b, example_keys, "us-east-1", "20130524T000000Z"));
}

TEST_CASE("s3 addressing: path-style and virtual-host targets") {
  s3_settings s;
  s.endpoint = "https://s3.eu-west-1.amazonaws.com";
  s.bucket = "examplebucket";
  auto p = s3_target_of(s, "documents/blobs/ab cd");
  CHECK(p.tls);
  CHECK(p.connect_host == "s3.eu-west-1.amazonaws.com");
  CHECK(p.port == "443");
  CHECK(p.host_header == "s3.eu-west-1.amazonaws.com");
  CHECK(p.path == "/examplebucket/documents/blobs/ab%20cd");
  s.virtual_host = true;
  auto v = s3_target_of(s, "documents/blobs/ab cd");
  CHECK(v.connect_host == "examplebucket.s3.eu-west-1.amazonaws.com");
  CHECK(v.host_header == "examplebucket.s3.eu-west-1.amazonaws.com");
  CHECK(v.path == "/documents/blobs/ab%20cd");
  s.endpoint = "http://127.0.0.1:9000";
  auto l = s3_target_of(s, "");
  CHECK(!l.tls);
  CHECK(l.port == "9000");
  CHECK(l.host_header == "examplebucket.127.0.0.1:9000");
  CHECK(l.path == "/");
}

TEST_CASE("s3 addressing: the virtual-host presigned URL is AWS's example") {
  s3_settings s;
  s.endpoint = "https://s3.amazonaws.com";
  s.bucket = "examplebucket";
  s.prefix = "";
  s.virtual_host = true;
  s.credentials = example_keys;
  status st;
  auto store = s3_blob_store::make(s, st);
  REQUIRE(st);
  // The store's keys are PREFIX blobs/<id>; AWS's example object is test.txt,
  // so the URL is checked through the same signer on that key.
  auto t = s3_target_of(s, "test.txt");
  CHECK(t.host_header == "examplebucket.s3.amazonaws.com");
  sigv4_request r{"GET", t.path, {}, {{"host", t.host_header}}, std::string(unsigned_payload)};
  CHECK(sigv4_presign_query(r, s.credentials, s.region, "20130524T000000Z", 86400).find(
            "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404") != std::string::npos);
  std::string id(64, 'a');
  std::string url = store->presigned_get_url(id, 60, 1369353600);
  CHECK(url.rfind("https://examplebucket.s3.amazonaws.com/blobs/" + id + "?X-Amz-Algorithm=AWS4-HMAC-SHA256", 0) == 0);
}

TEST_CASE("s3 settings: bad values are refused with the setting named") {
  s3_settings s;
  s.endpoint = "http://127.0.0.1:9000";
  s.bucket = "ledger-docs";
  s.credentials = {"S3RVER", "S3RVER"};
  CHECK(!check_s3_settings(s));
  auto bad = [&](auto change) {
    s3_settings c = s;
    change(c);
    auto e = check_s3_settings(c);
    return e ? *e : std::string("(accepted)");
  };
  CHECK(bad([](s3_settings& c) { c.endpoint = "ftp://x"; }).rfind("--s3-endpoint", 0) == 0);
  CHECK(bad([](s3_settings& c) { c.endpoint = "http://x:99999"; }).rfind("--s3-endpoint", 0) == 0);
  CHECK(bad([](s3_settings& c) { c.endpoint = "http://x/path"; }).rfind("--s3-endpoint", 0) == 0);
  CHECK(bad([](s3_settings& c) { c.bucket = "No_Such"; }).rfind("--s3-bucket", 0) == 0);
  CHECK(bad([](s3_settings& c) { c.region = ""; }).rfind("--s3-region", 0) == 0);
  CHECK(bad([](s3_settings& c) { c.prefix = "x"; }).rfind("--s3-prefix", 0) == 0);
  CHECK(bad([](s3_settings& c) { c.credentials.access_key = ""; }).rfind("--s3-access-key-file", 0) == 0);
  CHECK(bad([](s3_settings& c) { c.credentials.secret_key = ""; }).rfind("--s3-secret-key-file", 0) == 0);
}

}  // namespace ledger::documents
