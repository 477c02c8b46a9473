// ledgerctl audit diff: two states, account by account.
#include <simdjson.h>

#include <fstream>
#include <map>
#include <sstream>

#include "tools/audit/commands.h"

namespace ledger::audit {

namespace {

constexpr std::size_t diff_file_bytes_max = 1u << 30;
const char* const compared[] = {"posted", "held", "incoming", "available"};

struct state_file {
  std::string digest;                                             // empty when the file has none
  std::map<std::string, std::map<std::string, std::string>> rows;  // "account asset" -> column -> value
};

// Splits one CSV record (RFC 4180) starting at `pos`; advances `pos`.
std::vector<std::string> csv_record(const std::string& text, std::size_t& pos) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (quoted) {
      if (c == '"' && pos + 1 < text.size() && text[pos + 1] == '"') fields.back() += '"', ++pos;
      else if (c == '"') quoted = false;
      else fields.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
      ++pos;
      break;
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

status parse_csv(const std::string& text, const std::string& path, state_file& out) {
  std::size_t pos = 0;
  auto header = csv_record(text, pos);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  if (!col.count("account") || !col.count("asset")) return status::invalid_argument(path + ": no account and asset columns");
  while (pos < text.size()) {
    auto f = csv_record(text, pos);
    if (f.size() == 1 && f[0].empty()) continue;
    if (f.size() != header.size()) return status::invalid_argument(path + ": a row has " + std::to_string(f.size()) + " fields, the header " + std::to_string(header.size()));
    if (col.count("record") && f[col["record"]] != "balance") continue;
    auto& row = out.rows[f[col["account"]] + " " + f[col["asset"]]];
    for (const char* c : compared)
      if (col.count(c)) row[c] = f[col[c]];
  }
  return status::ok();
}

status parse_ndjson(const std::string& text, const std::string& path, state_file& out) {
  simdjson::dom::parser parser;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    simdjson::dom::object o;
    if (parser.parse(line).get(o) != simdjson::SUCCESS) return status::invalid_argument(path + ": a line is not a JSON object");
    std::string_view record, digest, asset;
    std::uint64_t account = 0;
    if (o["record"].get(record) != simdjson::SUCCESS) continue;
    if (record == "state" && o["state_digest"].get(digest) == simdjson::SUCCESS) out.digest.assign(digest);
    if (record != "balance") continue;
    if (o["account"].get(account) != simdjson::SUCCESS || o["asset"].get(asset) != simdjson::SUCCESS)
      return status::invalid_argument(path + ": a balance has no account or asset");
    auto& row = out.rows[std::to_string(account) + " " + std::string(asset)];
    for (const char* c : compared) {
      std::string_view v;
      if (o[c].get(v) == simdjson::SUCCESS) row[c] = std::string(v);
    }
  }
  return status::ok();
}

status load(const std::string& path, state_file& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return status::not_found("cannot open " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > diff_file_bytes_max) return status::invalid_argument(path + " is larger than 1 GiB");
  bool json = text.find_first_not_of(" \r\n\t") != std::string::npos && text[text.find_first_not_of(" \r\n\t")] == '{';
  return json ? parse_ndjson(text, path, out) : parse_csv(text, path, out);
}

void compare_row(const std::string& key, const std::map<std::string, std::string>& a,
                 const std::map<std::string, std::string>& b, std::vector<std::string>& out) {
  auto space = key.find(' ');
  std::string name = "account " + key.substr(0, space) + " " + key.substr(space + 1);
  for (const char* c : compared) {
    auto ia = a.find(c), ib = b.find(c);
    if (ia == a.end() || ib == b.end() || ia->second == ib->second) continue;
    out.push_back(name + ": " + c + " " + ia->second + " vs " + ib->second);
  }
}

}  // namespace

status run_diff(const std::string& a_path, const std::string& b_path, std::vector<std::string>& out) {
  out.clear();
  state_file a, b;
  if (auto s = load(a_path, a); !s) return s;
  if (auto s = load(b_path, b); !s) return s;
  if (!a.digest.empty() && !b.digest.empty() && a.digest != b.digest)
    out.push_back("state digest: " + a.digest + " vs " + b.digest);
  for (const auto& [key, row] : a.rows) {
    auto it = b.rows.find(key);
    if (it == b.rows.end()) out.push_back("account " + key + ": only in " + a_path);
    else compare_row(key, row, it->second, out);
  }
  for (const auto& [key, row] : b.rows)
    if (!a.rows.count(key)) out.push_back("account " + key + ": only in " + b_path);
  return status::ok();
}

}  // namespace ledger::audit
