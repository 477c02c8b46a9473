#include "api/webhooks.h"

#include <fstream>
#include <sstream>

#include "base/prometheus.h"

namespace ledger::api {

namespace {

constexpr std::size_t secrets_max = 4;
constexpr std::size_t secret_bytes_max = 1024;
constexpr std::array<std::string_view, webhook_result_count> result_names{
    "applied", "replayed", "rejected", "ignored", "refused", "malformed", "failed"};

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

}  // namespace

std::string_view to_string(webhook_result r) { return result_names[static_cast<std::size_t>(r)]; }

std::optional<std::string> parse_webhook_account(std::string_view spec, webhook_account& out) {
  auto parts = split(spec, ',');
  if (parts.size() < 3 || parts.size() > 4) return "a webhook account is NAME,PROVIDER,SECRETS_FILE[,NOTIFICATION_URL]";
  if (!valid_name(parts[0])) return "webhook account name: 1 to 64 of a-z, 0-9, '_' and '-'";
  if (parts[1] != "stripe" && parts[1] != "square") return "webhook account " + std::string(parts[0]) + ": provider must be stripe or square";
  if (parts[2].empty()) return "webhook account " + std::string(parts[0]) + ": the secrets file is missing";
  out = webhook_account{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]), "", {}};
  if (parts.size() == 4) out.notification_url = std::string(parts[3]);
  if (out.provider == "square" && out.notification_url.rfind("https://", 0) != 0 &&
      out.notification_url.rfind("http://", 0) != 0)
    return "webhook account " + out.name + ": a square account needs its notification URL (http:// or https://)";
  return load_webhook_secrets(out);
}

std::optional<std::string> load_webhook_secrets(webhook_account& a) {
  std::ifstream in(a.secrets_file);
  if (!in) return "webhook account " + a.name + ": cannot read " + a.secrets_file;
  std::vector<std::string> secrets;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    if (line.size() > secret_bytes_max) return "webhook account " + a.name + ": a secret is longer than its limit";
    if (secrets.size() == secrets_max) return "webhook account " + a.name + ": more than 4 secrets in " + a.secrets_file;
    secrets.push_back(line);
  }
  if (secrets.empty()) return "webhook account " + a.name + ": no secret in " + a.secrets_file;
  a.secrets = std::move(secrets);
  return std::nullopt;
}

webhook_registry::webhook_registry(webhook_settings s) : settings_(std::make_shared<webhook_settings>(std::move(s))) {
  counts_[""];  // refusals no account's secret verifies
  for (const auto& a : settings_->accounts) counts_[a.name];
}

std::shared_ptr<const webhook_settings> webhook_registry::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

std::optional<std::string> webhook_registry::reload() {
  auto next = std::make_shared<webhook_settings>(*settings());
  std::optional<std::string> first_error;
  for (auto& a : next->accounts) {
    auto previous = a.secrets;
    if (auto e = load_webhook_secrets(a)) {
      a.secrets = std::move(previous);
      if (!first_error) first_error = *e;
    }
  }
  std::lock_guard lock(mu_);
  settings_ = std::move(next);
  return first_error;
}

void webhook_registry::count(std::string_view account, webhook_result r) {
  auto it = counts_.find(account);
  if (it == counts_.end()) it = counts_.find("");
  it->second[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

std::string webhook_registry::render_metrics() const {
  std::ostringstream out;
  out << "# HELP ledger_webhook_events_total Provider webhook deliveries by account and result.\n"
      << "# TYPE ledger_webhook_events_total counter\n";
  for (const auto& [account, counts] : counts_)
    for (std::size_t r = 0; r < webhook_result_count; ++r)
      out << "ledger_webhook_events_total{account=\"" << (account.empty() ? "none" : account) << "\",result=\""
          << result_names[r] << "\"} " << counts[r].load(std::memory_order_relaxed) << "\n";
  return out.str();
}

int provider_currency_exponent(std::string_view c) {
  static constexpr std::string_view zero[] = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
                                              "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::string_view three[] = {"BHD", "JOD", "KWD", "OMR", "TND"};
  for (auto z : zero)
    if (c == z) return 0;
  for (auto t : three)
    if (c == t) return 3;
  return 2;
}

}  // namespace ledger::api
