#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "tests/support/pg_instance.h"
#include "tests/support/temp_dir.h"

namespace {

using ledger::testing::pg_instance;
using ledger::testing::pg_instance_options;
namespace fs = std::filesystem;

// Tests fail fast instead of waiting for libpq's default (unbounded) connect.
std::string with_timeout(const std::string& conninfo) { return conninfo + " connect_timeout=5"; }

std::string query_one(const std::string& conninfo, const std::string& sql) {
  pqxx::connection connection(with_timeout(conninfo));
  pqxx::nontransaction tx(connection);
  return tx.exec1(sql)[0].c_str();
}

void exec(const std::string& conninfo, const std::string& sql) {
  pqxx::connection connection(with_timeout(conninfo));
  pqxx::work tx(connection);
  tx.exec0(sql);
  tx.commit();
}

bool can_connect(const std::string& conninfo) {
  try {
    pqxx::connection connection(with_timeout(conninfo));
    return true;
  } catch (const pqxx::broken_connection&) {
    return false;
  }
}

// Holds 127.0.0.1:port in the listening state, so nobody else can bind it.
class port_squatter {
 public:
  explicit port_squatter(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
  }
  ~port_squatter() { ::close(fd_); }
  port_squatter(const port_squatter&) = delete;
  port_squatter& operator=(const port_squatter&) = delete;

 private:
  int fd_;
};

// Points TMPDIR at `dir` for one scope; tests run on one thread.
class scoped_tmpdir {
 public:
  explicit scoped_tmpdir(const std::string& dir) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~scoped_tmpdir() {
    if (old_) {
      ::setenv("TMPDIR", old_->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
  }
  scoped_tmpdir(const scoped_tmpdir&) = delete;
  scoped_tmpdir& operator=(const scoped_tmpdir&) = delete;

 private:
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("a started instance answers SELECT 1 over TCP") {
  pg_instance pg;
  CHECK(pg.running());
  CHECK(pg.port() > 0);
  CHECK(pg.connection_string().find("port=" + std::to_string(pg.port())) != std::string::npos);
  CHECK(query_one(pg.connection_string(), "SELECT 1") == "1");
  CHECK(query_one(pg.connection_string(), "SHOW port") == std::to_string(pg.port()));
  CHECK(query_one(pg.connection_string(), "SHOW listen_addresses") == "127.0.0.1");
  CHECK(query_one(pg.connection_string(), "SHOW fsync") == "on");
  CHECK(query_one(pg.connection_string(), "SHOW synchronous_commit") == "on");
  CHECK(query_one(pg.connection_string(), "SHOW shared_buffers") == "256MB");
  CHECK(fs::exists(pg.log_path()));
  if (::geteuid() == 0) {
    // As root the cluster must belong to, and the server run as, another user.
    struct stat st {};
    REQUIRE(::stat(pg.data_directory().c_str(), &st) == 0);
    CHECK(st.st_uid != 0);
  }
}

TEST_CASE("data survives stop and start on the same port") {
  pg_instance pg;
  const int port = pg.port();
  exec(pg.connection_string(), "CREATE TABLE kept (v bigint)");
  exec(pg.connection_string(), "INSERT INTO kept VALUES (42), (43)");

  pg.stop();
  CHECK_FALSE(pg.running());
  pg.stop();  // a second stop is a no-op
  pg.start();

  CHECK(pg.running());
  CHECK(pg.port() == port);
  CHECK(query_one(pg.connection_string(), "SELECT sum(v) FROM kept") == "85");
}

TEST_CASE("connecting after stop fails, and works again after start") {
  pg_instance pg;
  REQUIRE(can_connect(pg.connection_string()));
  pg.stop();
  CHECK_FALSE(can_connect(pg.connection_string()));
  CHECK_THROWS_AS(query_one(pg.connection_string(), "SELECT 1"), pqxx::broken_connection);
  pg.start();
  CHECK(can_connect(pg.connection_string()));
}

TEST_CASE("start fails clearly when the port was taken while stopped, and works once freed") {
  pg_instance pg;
  pg.stop();
  {
    port_squatter squatter(pg.port());
    std::string message;
    try {
      pg.start();
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    CHECK(message.find("was taken") != std::string::npos);
    CHECK(message.find("Address already in use") != std::string::npos);
    CHECK_FALSE(pg.running());
  }
  pg.start();
  CHECK(query_one(pg.connection_string(), "SELECT 1") == "1");
}

TEST_CASE("two instances run at once on different ports") {
  pg_instance first;
  pg_instance second;
  CHECK(first.port() != second.port());
  CHECK(first.directory() != second.directory());
  // Each connection string reaches its own server, not the other one.
  CHECK(query_one(first.connection_string(), "SHOW port") == std::to_string(first.port()));
  CHECK(query_one(second.connection_string(), "SHOW port") == std::to_string(second.port()));
  exec(first.connection_string(), "CREATE TABLE only_in_first (v int)");
  CHECK(query_one(first.connection_string(), "SELECT to_regclass('only_in_first') IS NOT NULL") ==
        "t");
  CHECK(query_one(second.connection_string(), "SELECT to_regclass('only_in_first') IS NULL") ==
        "t");
}

TEST_CASE("the directory is gone and the server stopped after destruction") {
  fs::path dir;
  std::string conninfo;
  {
    pg_instance pg;
    dir = pg.directory();
    conninfo = pg.connection_string();
    REQUIRE(fs::exists(dir / "data" / "PG_VERSION"));
  }
  CHECK_FALSE(fs::exists(dir));
  CHECK_FALSE(can_connect(conninfo));
}

TEST_CASE("create_database returns a connection string for the new database") {
  pg_instance pg;
  const std::string conninfo = pg.create_database("ledger test");
  CHECK(query_one(conninfo, "SELECT current_database()") == "ledger test");
  CHECK_THROWS_AS(pg.create_database("ledger test"), std::runtime_error);
}

TEST_CASE("options override durability and add configuration lines") {
  pg_instance_options options;
  options.fsync = false;
  options.synchronous_commit = false;
  options.extra_conf_lines = {"work_mem = '7MB'"};
  pg_instance pg(options);
  CHECK(query_one(pg.connection_string(), "SHOW fsync") == "off");
  CHECK(query_one(pg.connection_string(), "SHOW synchronous_commit") == "off");
  CHECK(query_one(pg.connection_string(), "SHOW work_mem") == "7MB");
}

TEST_CASE("a server that cannot start throws with the log tail and leaves nothing behind") {
  // A private TMPDIR lets the test see exactly what the failed start left.
  ledger::testing::temp_dir parent("pg-instance-test");
  // As root the server runs as another user, which must be able to enter it.
  REQUIRE(::chmod(parent.path().c_str(), 0755) == 0);
  scoped_tmpdir tmpdir(parent.str());

  pg_instance_options options;
  options.extra_conf_lines = {"shared_buffers = 'not a size'"};
  std::string message;
  try {
    pg_instance pg(options);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK(message.find("during start-up") != std::string::npos);
  // The server's own complaint is in the message, so the cause is visible.
  CHECK(message.find("shared_buffers") != std::string::npos);
  CHECK(fs::is_empty(parent.path()));
}

TEST_CASE("a TMPDIR the server's user cannot enter falls back to /tmp") {
  if (::geteuid() != 0) return;  // only root hands the server to another user
  ledger::testing::temp_dir parent("pg-instance-test");
  REQUIRE(::chmod(parent.path().c_str(), 0700) == 0);
  scoped_tmpdir tmpdir(parent.str());
  pg_instance pg;
  CHECK(pg.directory().parent_path() == fs::canonical("/tmp"));
  CHECK(query_one(pg.connection_string(), "SELECT 1") == "1");
}
