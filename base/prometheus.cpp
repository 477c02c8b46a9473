#include "base/prometheus.h"

#include <cstdio>

namespace ledger::prometheus {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string header(std::string_view name, std::string_view help, std::string_view type) {
  std::string out = "# HELP ";
  out.append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ").append(type).append("\n");
  return out;
}

std::string gauge(std::string_view name, std::string_view help, double value) {
  return header(name, help, "gauge") + std::string(name) + " " + number(value) + "\n";
}

std::string counter(std::string_view name, std::string_view help, std::uint64_t value) {
  return header(name, help, "counter") + std::string(name) + " " + std::to_string(value) + "\n";
}

void histogram_samples(std::string& out, std::string_view name, std::string_view labels, const histogram& h) {
  // Bucket bounds print short ("0.005", not "0.0050000000000000001").
  auto bound = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return std::string(buf);
  };
  std::uint64_t cumulative = 0;
  std::string n(name);
  std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    std::string le = i < h.bounds.size() ? bound(h.bounds[i]) : "+Inf";
    out += n + "_bucket{" + std::string(labels) + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  std::string l = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out += n + "_sum" + l + " " + bound(h.sum) + "\n";
  out += n + "_count" + l + " " + std::to_string(h.count) + "\n";
}

}  // namespace ledger::prometheus
