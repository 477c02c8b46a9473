// A closed store's RocksDB opened read-only with its column families
// (default, state, journal), for tests that look at the files themselves.
// Closed again when it goes out of scope.
#pragma once

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <string>
#include <vector>

namespace ledger {

struct read_only_store {
  explicit read_only_store(const std::string& path) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"state", {}}, {"journal", {}}};
    auto s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), path, cfs, &handles, &db);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  ~read_only_store() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  read_only_store(const read_only_store&) = delete;
  read_only_store& operator=(const read_only_store&) = delete;

  rocksdb::ColumnFamilyHandle* journal() const { return handles[2]; }

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
};

}  // namespace ledger
