// ledgerctl: the command-line tool for analysts and auditors. It parses
// arguments, opens a source and maps results to exit codes; the work is in
// tools/audit/ (the ledger_audit library).
//
// Exit codes: 0 success; 1 the data is wrong (tampering, a digest or trial
// balance mismatch, differences found); 2 bad usage; 3 an operating error.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "api/payout_keys.h"
#include "schemas/money.h"
#include "schemas/time.h"
#include "tools/audit/commands.h"
#include "tools/audit/signing.h"

namespace {

using namespace ledger;
using namespace ledger::audit;

const char* usage_text = R"(usage: ledgerctl COMMAND [options]

  events [SOURCE] [--from-seq N | --from-time T] [--to-seq N | --to-time T]
         [--wallet ID]... [--asset CODE]... [--type TYPE]... [--format ndjson|csv] [--follow]
  audit export --data-dir DIR --out PATH [--to-seq N] [--signing-key FILE]
  audit public-key [--signing-key FILE]
  audit keygen --out FILE
  audit verify (PATH | SOURCE) [--public-key FILE]
  audit state (--at T | --seq N) [SOURCE] [--wallet ID] [--format csv|ndjson] [--no-snapshots]
  audit trial-balance (--at T | --seq N) [SOURCE]
  audit diff A B
  keys rotate (--key-store-dir DIR | --data-dir DIR) --master-key-file ID,PATH...

SOURCE is one of --data-dir DIR (a ledgerd data directory, read-only, also
while ledgerd runs), --archive PATH (from audit export), or --kafka-brokers
LIST [--kafka-topic NAME] [--ledger-id ID] [--kafka-option KEY=VALUE]... (the events topic;
ID: the ledger id bound into its chain, Kafka mode's default "ledger").
Times are RFC 3339 ("2026-11-30T12:00:00Z"). The signing key defaults to
$LEDGER_SIGNING_KEY_FILE. keys rotate re-wraps every payment-detail data key
under the last --master-key-file (give the older ones too, to unwrap); it
may run while ledgerd serves. Exit: 0 ok, 1 data wrong, 2 usage, 3 operating error.
)";

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) { stop_requested.store(true); }

struct usage_error {
  std::string what;
};

struct args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> opts;
  bool has(const std::string& k) const { return opts.count(k) > 0; }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = opts.find(k);
    return it == opts.end() ? def : it->second;
  }
  std::vector<std::string> all(const std::string& k) const {
    std::vector<std::string> v;
    for (auto [it, end] = opts.equal_range(k); it != end; ++it) v.push_back(it->second);
    return v;
  }
};

args parse(int argc, char** argv, int first) {
  static const char* flags[] = {"--follow", "--no-snapshots"};
  args a;
  for (int i = first; i < argc; ++i) {
    std::string f = argv[i];
    if (f.rfind("--", 0) != 0) {
      a.positional.push_back(f);
      continue;
    }
    bool is_flag = false;
    for (const char* fl : flags) is_flag = is_flag || f == fl;
    if (is_flag) {
      a.opts.emplace(f, "");
      continue;
    }
    if (i + 1 >= argc) throw usage_error{f + " needs a value"};
    a.opts.emplace(f, argv[++i]);
  }
  return a;
}

std::uint64_t number(const std::string& name, const std::string& v) {
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
    throw usage_error{name + " must be a non-negative integer, got \"" + v + "\""};
  return std::stoull(v);
}

std::int64_t time_of(const std::string& name, const std::string& v) {
  auto t = parse_rfc3339_us(v);
  if (!t) throw usage_error{name + " must be an RFC 3339 time such as 2026-11-30T12:00:00Z, got \"" + v + "\""};
  return *t;
}

int fail(const status& s) {
  std::fprintf(stderr, "ledgerctl: %s\n", s.to_string().c_str());
  return s.error_code() == status::code::corruption ? 1 : 3;
}

status open_source(const args& a, std::unique_ptr<source>& out) {
  int given = int(a.has("--data-dir")) + int(a.has("--archive")) + int(a.has("--kafka-brokers"));
  if (given != 1) throw usage_error{"give exactly one of --data-dir, --archive, --kafka-brokers"};
  if (a.has("--data-dir")) return open_data_dir(a.get("--data-dir"), out);
  if (a.has("--archive")) return open_archive(a.get("--archive"), out);
  std::vector<std::pair<std::string, std::string>> extra;
  for (const auto& kv : a.all("--kafka-option")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw usage_error{"--kafka-option must be KEY=VALUE"};
    extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return open_kafka(a.get("--kafka-brokers"), a.get("--kafka-topic", "ledger.events"), a.get("--ledger-id", "ledger"), extra, out);
}

bool csv_format(const args& a, const std::string& def) {
  auto f = a.get("--format", def);
  if (f != "csv" && f != "ndjson") throw usage_error{"--format must be csv or ndjson, got \"" + f + "\""};
  return f == "csv";
}

int cmd_events(const args& a) {
  events_options o;
  if (a.has("--from-seq") && a.has("--from-time")) throw usage_error{"give --from-seq or --from-time, not both"};
  if (a.has("--to-seq") && a.has("--to-time")) throw usage_error{"give --to-seq or --to-time, not both"};
  if (a.has("--from-seq")) o.from_seq = number("--from-seq", a.get("--from-seq"));
  if (a.has("--from-time")) o.from_time_us = time_of("--from-time", a.get("--from-time"));
  if (a.has("--to-seq")) o.to_seq = number("--to-seq", a.get("--to-seq"));
  if (a.has("--to-time")) o.to_time_us = time_of("--to-time", a.get("--to-time"));
  for (const auto& w : a.all("--wallet")) o.wallets.push_back(number("--wallet", w));
  o.assets = a.all("--asset");
  o.types = a.all("--type");
  o.csv = csv_format(a, "ndjson");
  o.follow = a.has("--follow");
  o.stop = &stop_requested;
  std::unique_ptr<source> src;
  if (auto s = open_source(a, src); !s) return fail(s);
  events_report r;
  if (auto s = run_events(*src, o, stdout, r); !s) return fail(s);
  return 0;
}

std::string signing_key_path(const args& a) {
  const char* env = std::getenv("LEDGER_SIGNING_KEY_FILE");
  auto p = a.get("--signing-key", env ? env : "");
  if (p.empty()) throw usage_error{"give --signing-key FILE or set LEDGER_SIGNING_KEY_FILE"};
  return p;
}

int cmd_export(const args& a) {
  if (!a.has("--out")) throw usage_error{"audit export needs --out PATH"};
  if (!a.has("--data-dir") && !a.has("--kafka-brokers")) throw usage_error{"audit export reads --data-dir or --kafka-brokers"};
  auto to = a.has("--to-seq") ? number("--to-seq", a.get("--to-seq")) : std::numeric_limits<std::uint64_t>::max();
  auto key = signing_key_path(a);
  std::unique_ptr<source> src;
  if (auto s = open_source(a, src); !s) return fail(s);
  export_report r;
  if (auto s = run_export(*src, a.get("--out"), to, key, r); !s) return fail(s);
  std::printf("archive %s: ledger %s, seq %llu..%llu, chain head %s, %zu checkpoints, signed by %s\n", a.get("--out").c_str(),
              r.info.ledger_id.c_str(), (unsigned long long)r.info.first_seq, (unsigned long long)r.info.last_seq,
              r.info.chain_head.c_str(), r.info.checkpoints.size(), r.info.public_key.c_str());
  return 0;
}

int cmd_public_key(const args& a) {
  std::unique_ptr<signing_key> k;
  if (auto s = signing_key::load(signing_key_path(a), k); !s) return fail(s);
  std::fputs(k->public_key_pem().c_str(), stdout);
  return 0;
}

int cmd_keygen(const args& a) {
  if (!a.has("--out")) throw usage_error{"audit keygen needs --out FILE"};
  if (auto s = signing_key::generate(a.get("--out")); !s) return fail(s);
  std::fprintf(stderr, "ledgerctl: wrote a new Ed25519 signing key to %s (mode 0600)\n", a.get("--out").c_str());
  return 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw usage_error{"cannot read " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int cmd_verify(const args& a) {
  verify_options o;
  if (a.has("--public-key")) o.public_key = read_text(a.get("--public-key"));
  std::unique_ptr<source> src;
  status s;
  if (a.positional.size() == 1 && !a.has("--data-dir") && !a.has("--kafka-brokers")) s = open_archive(a.positional[0], src);
  else if (a.positional.empty()) s = open_source(a, src);
  else throw usage_error{"audit verify takes an archive PATH or a SOURCE"};
  if (!s) return fail(s);
  verify_report r;
  if (s = run_verify(*src, o, r); !s) {
    std::fprintf(stderr, "ledgerctl audit verify: FAILED: %s\n", s.message().c_str());
    return s.error_code() == status::code::corruption ? 1 : 3;
  }
  std::printf("verified: ledger %s, seq 1..%llu, chain head %s, %zu checkpoint digests rebuilt and equal, signature %s\n",
              r.ledger_id.c_str(), (unsigned long long)r.head.seq, to_hex(r.head.chain).c_str(), r.checkpoints_checked,
              !src->archive() ? "n/a (data directory)" : r.signer_pinned ? "valid (pinned key)" : "valid (the archive's own key: pin it with --public-key)");
  return 0;
}

state_options state_opts(const args& a) {
  state_options o;
  if (a.has("--at") == a.has("--seq")) throw usage_error{"give exactly one of --at TIME or --seq N"};
  if (a.has("--at")) o.bound.log_ts_max_us = time_of("--at", a.get("--at"));
  if (a.has("--seq")) o.bound.seq_max = number("--seq", a.get("--seq"));
  if (a.has("--wallet")) o.wallet = number("--wallet", a.get("--wallet"));
  o.use_snapshots = !a.has("--no-snapshots");
  return o;
}

int cmd_state(const args& a) {
  auto o = state_opts(a);
  bool csv = csv_format(a, "ndjson");
  std::unique_ptr<source> src;
  if (auto s = open_source(a, src); !s) return fail(s);
  state_report r;
  if (auto s = run_state(*src, o, r); !s) return fail(s);
  write_state(r, o.wallet, csv, stdout);
  return 0;
}

int cmd_trial_balance(const args& a) {
  auto o = state_opts(a);
  std::unique_ptr<source> src;
  if (auto s = open_source(a, src); !s) return fail(s);
  state_report r;
  if (auto s = run_state(*src, o, r); !s) return fail(s);
  std::printf("asset,accounts,posted_sum,pending_sum\n");
  bool zero = true;
  for (const auto& t : trial_balance(r.summary)) {
    std::printf("%s,%llu,%s,%s\n", t.asset.c_str(), (unsigned long long)t.accounts,
                r.summary.major(t.posted_sum, t.asset).c_str(), r.summary.major(t.pending_sum, t.asset).c_str());
    zero = zero && t.posted_sum == 0 && t.pending_sum == 0;
  }
  std::fprintf(stderr, "ledgerctl audit trial-balance: seq %llu: %s\n", (unsigned long long)r.head.seq,
               zero ? "every asset sums to zero" : "NOT ZERO: the ledger does not balance");
  return zero ? 0 : 1;
}

int cmd_diff(const args& a) {
  if (a.positional.size() != 2) throw usage_error{"audit diff takes two files"};
  std::vector<std::string> d;
  if (auto s = run_diff(a.positional[0], a.positional[1], d); !s) return fail(s);
  for (const auto& line : d) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "ledgerctl audit diff: %zu differences\n", d.size());
  return d.empty() ? 0 : 1;
}

// keys rotate: the payment-detail key store re-wrapped under the newest master key.
int cmd_keys_rotate(const args& a) {
  if (a.has("--key-store-dir") == a.has("--data-dir")) throw usage_error{"give one of --key-store-dir, --data-dir"};
  std::string dir = a.has("--key-store-dir") ? a.get("--key-store-dir") : a.get("--data-dir") + "/keys";
  if (!std::filesystem::is_directory(dir)) throw usage_error{dir + " is not a key store directory"};
  std::vector<api::master_key> masters;
  for (const auto& spec : a.all("--master-key-file")) {
    api::master_key k;
    if (auto e = api::load_master_key(spec, k)) throw usage_error{"--master-key-file: " + *e};
    masters.push_back(std::move(k));
  }
  // multimap keeps equal keys in insertion order: the last given is current.
  if (masters.empty()) throw usage_error{"give at least one --master-key-file (the last one is the new key)"};
  api::payout_keys keys(std::move(masters), dir);
  api::rotate_report r;
  if (auto e = keys.rotate(r); e != api::key_error::none) {
    std::fprintf(stderr, "ledgerctl: keys rotate: %s\n", std::string(api::to_string(e)).c_str());
    return e == api::key_error::corrupt ? 1 : 3;
  }
  std::printf("rotated: %zu data keys re-wrapped under %s, %zu already under it, %zu destroyed\n", r.rewrapped,
              keys.current_key_id().c_str(), r.current, r.destroyed);
  return 0;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) throw usage_error{"no command"};
  std::string cmd = argv[1];
  if (cmd == "events") return cmd_events(parse(argc, argv, 2));
  if (cmd == "keys") {
    if (argc < 3 || std::string(argv[2]) != "rotate") throw usage_error{"unknown keys command"};
    return cmd_keys_rotate(parse(argc, argv, 3));
  }
  if (cmd != "audit" || argc < 3) throw usage_error{"unknown command \"" + cmd + "\""};
  std::string sub = argv[2];
  auto a = parse(argc, argv, 3);
  if (sub == "export") return cmd_export(a);
  if (sub == "public-key") return cmd_public_key(a);
  if (sub == "keygen") return cmd_keygen(a);
  if (sub == "verify") return cmd_verify(a);
  if (sub == "state") return cmd_state(a);
  if (sub == "trial-balance") return cmd_trial_balance(a);
  if (sub == "diff") return cmd_diff(a);
  throw usage_error{"unknown audit command \"" + sub + "\""};
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(usage_text, stdout);
    return 0;
  }
  try {
    return dispatch(argc, argv);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "ledgerctl: %s\n\n%s", e.what.c_str(), usage_text);
    return 2;
  }
}
