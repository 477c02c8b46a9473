#include "projections/reconcile.h"

#include <algorithm>

namespace ledger::projections {

namespace {

constexpr std::size_t columns_max = 64;
constexpr std::size_t field_bytes_max = 1024;

// RFC 4180 records: fields separated by commas, optionally quoted with ""
// inside quotes, records ended by LF or CRLF. One record per call.
class csv_reader {
 public:
  explicit csv_reader(std::string_view text) : s_(text) {}
  bool done() const { return pos_ >= s_.size(); }
  std::size_t line() const { return line_; }

  status next(std::vector<std::string>& fields) {
    fields.assign(1, {});
    bool quoted = false, was_quoted = false;
    std::size_t start_line = ++line_;
    for (; pos_ < s_.size(); ++pos_) {
      char c = s_[pos_];
      if (quoted) {
        if (c == '"' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {
          fields.back() += '"';
          ++pos_;
        } else if (c == '"') {
          quoted = false;
        } else {
          if (c == '\n') ++line_;
          fields.back() += c;
        }
      } else if (c == '"' && fields.back().empty() && !was_quoted) {
        quoted = was_quoted = true;
      } else if (c == ',') {
        if (fields.size() == columns_max) return bad(start_line, "more than 64 columns");
        fields.emplace_back();
        was_quoted = false;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
        ++pos_;
        return status::ok();
      } else if (was_quoted) {
        return bad(start_line, "text after a closing quote");
      } else {
        fields.back() += c;
      }
      if (fields.back().size() > field_bytes_max) return bad(start_line, "a field longer than 1024 bytes");
    }
    if (quoted) return bad(start_line, "a quoted field is not closed");
    return status::ok();
  }

 private:
  static status bad(std::size_t line, const std::string& why) {
    return status::invalid_argument("report line " + std::to_string(line) + ": " + why);
  }
  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t line_ = 0;
};

struct columns {
  int reference = -1, amount = -1, currency = -1, status = -1, created = -1;
};

status find_columns(const std::vector<std::string>& header, std::string_view format, columns& c) {
  auto find = [&](std::initializer_list<std::string_view> names) {
    for (auto n : names)
      for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == n) return static_cast<int>(i);
    return -1;
  };
  if (format == "stripe-payments") {
    c = {find({"PaymentIntent ID"}), find({"Amount"}), find({"Currency"}), find({"Status"}),
         find({"Created date (UTC)", "Created (UTC)"})};
  } else if (format == "generic") {
    c = {find({"reference"}), find({"amount"}), find({"currency"}), find({"status"}), find({"created"})};
  } else {
    return status::invalid_argument("format must be stripe-payments or generic");
  }
  const char* names[] = {"reference", "amount", "currency", "status", "created"};
  int* idx[] = {&c.reference, &c.amount, &c.currency, &c.status, &c.created};
  for (int i = 0; i < 5; ++i)
    if (*idx[i] < 0)
      return status::invalid_argument(std::string("report header: no ") + names[i] + " column for format " +
                                      std::string(format));
  return status::ok();
}

bool decimal(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  auto dot = s.find('.');
  auto whole = s.substr(0, dot);
  auto frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  auto digits = [](std::string_view d) { return std::all_of(d.begin(), d.end(), [](char ch) { return ch >= '0' && ch <= '9'; }); };
  return !whole.empty() && whole.size() <= 38 && digits(whole) && digits(frac) && frac.size() <= 18 &&
         (dot == std::string_view::npos || !frac.empty());
}

bool timestamp_like(std::string_view s) {
  // YYYY-MM-DD, then optionally a time: PostgreSQL parses the rest.
  if (s.size() < 10 || s.size() > 40) return false;
  for (std::size_t i = 0; i < 10; ++i)
    if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9')) return false;
  return true;
}

std::string normalized_status(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (s == "paid" || s == "succeeded" || s == "completed" || s == "captured") return "paid";
  if (s == "failed" || s == "canceled" || s == "cancelled") return "failed";
  if (s == "refunded" || s == "partially refunded") return "refunded";
  return s;
}

status read_row(const std::vector<std::string>& f, const columns& c, std::size_t line, report_row& r) {
  auto bad = [&](const char* col, const char* why) {
    return status::invalid_argument("report line " + std::to_string(line) + ", " + col + ": " + why);
  };
  int widest = std::max({c.reference, c.amount, c.currency, c.status, c.created});
  if (static_cast<int>(f.size()) <= widest) return bad("row", "fewer columns than the header");
  r.line = line;
  r.reference = f[c.reference];
  r.amount = f[c.amount];
  r.currency = f[c.currency];
  std::transform(r.currency.begin(), r.currency.end(), r.currency.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  r.status = normalized_status(f[c.status]);
  r.created = f[c.created];
  if (r.reference.empty()) return bad("reference", "empty");
  if (!decimal(r.amount)) return bad("amount", "not a decimal amount in major units");
  if (r.currency.empty() || r.currency.size() > 16) return bad("currency", "1 to 16 characters");
  if (!timestamp_like(r.created)) return bad("created", "not a date-time (YYYY-MM-DD ...)");
  return status::ok();
}

}  // namespace

status parse_report(std::string_view csv, std::string_view format, std::vector<report_row>& out) {
  out.clear();
  if (csv.size() > report_bytes_max) return status::invalid_argument("report larger than 64 MiB");
  if (csv.substr(0, 3) == "\xEF\xBB\xBF") csv.remove_prefix(3);  // a spreadsheet's byte order mark
  csv_reader reader(csv);
  std::vector<std::string> fields;
  if (reader.done()) return status::invalid_argument("report is empty: no header row");
  if (auto s = reader.next(fields); !s) return s;
  columns c;
  if (auto s = find_columns(fields, format, c); !s) return s;
  while (!reader.done()) {
    if (auto s = reader.next(fields); !s) return s;
    if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
    if (out.size() == report_rows_max) return status::invalid_argument("report has more than 1,000,000 rows");
    report_row r;
    if (auto s = read_row(fields, c, reader.line(), r); !s) return s;
    out.push_back(std::move(r));
  }
  if (out.empty()) return status::invalid_argument("report has no rows");
  return status::ok();
}

}  // namespace ledger::projections
