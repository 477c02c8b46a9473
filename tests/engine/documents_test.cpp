// The document commands through the real engine on RocksDB: records and
// indexes, group membership rules, deletion by the owner only, the
// per-member group bound, and that the state replays to the same digest
// (check_event accepts every document event a live engine wrote).
#include <doctest/doctest.h>

#include <string>

#include "engine/rebuild.h"
#include "tests/engine/harness.h"
#include "tests/engine/state_checks.h"

namespace {

using namespace ledger;
using ledger::testing::engine_harness;
using ledger::testing::check_rebuild_digest;
using ledger::testing::has_state_key;

std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

upload_document_cmd upload(const std::string& owner, std::uint64_t group, char blob) {
  return upload_document_cmd{owner, group, document_category::ticket, "enc1:QUJD", "application/pdf", 10,
                             std::string(64, 'c'), std::string(64, blob), "", "k1"};
}

}  // namespace

TEST_CASE("documents: upload, group rules, delete by the owner only, and a replay to the same digest") {
  engine_harness h;
  auto a = h.must(h.run(upload("alice", 0, 'a')));
  CHECK(has_state_key(h, keys::document(a.seq)));
  CHECK(has_state_key(h, keys::owner_document("alice", a.seq)));
  // A group the uploader is not in: refused, nothing recorded.
  CHECK(why(h.run(upload("alice", 7, 'b'))) == "not_group_member");
  h.must(h.run(set_group_members_cmd{7, {"alice", "bob"}}));
  CHECK(has_state_key(h, keys::member_group("bob", 7)));
  auto g = h.must(h.run(upload("alice", 7, 'b')));
  CHECK(has_state_key(h, keys::group_document(7, g.seq)));
  // Another owner's document is unknown to bob, even as a member.
  CHECK(why(h.run(delete_document_cmd{g.seq, "bob"})) == "unknown_document");
  CHECK(why(h.run(delete_document_cmd{999, "alice"})) == "unknown_document");
  h.must(h.run(delete_document_cmd{g.seq, "alice"}));
  CHECK_FALSE(has_state_key(h, keys::document(g.seq)));
  CHECK_FALSE(has_state_key(h, keys::group_document(7, g.seq)));
  CHECK(why(h.run(delete_document_cmd{g.seq, "alice"})) == "unknown_document");
  // Membership replaced: bob's index entry goes.
  h.must(h.run(set_group_members_cmd{7, {"alice"}}));
  CHECK_FALSE(has_state_key(h, keys::member_group("bob", 7)));
  h.must(h.run(set_group_members_cmd{7, {}}));
  CHECK_FALSE(has_state_key(h, keys::group_members(7)));

  check_rebuild_digest(h);
}

TEST_CASE("documents: a member is in at most groups_per_member_max groups") {
  engine_harness h;
  for (std::uint64_t g = 1; g <= groups_per_member_max; ++g) h.must(h.run(set_group_members_cmd{g, {"carol"}}));
  CHECK(why(h.run(set_group_members_cmd{groups_per_member_max + 1, {"carol"}})) == "invalid_state");
  // Setting a group carol is already in does not count twice.
  h.must(h.run(set_group_members_cmd{1, {"carol", "dave"}}));
}
