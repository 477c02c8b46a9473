// Prometheus text exposition (format 0.0.4): the lines of one metric, with
// its HELP and TYPE. Each module renders its own figures with these (engine/,
// projections/, kafka's roles, api/); a process concatenates them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/histogram.h"

namespace ledger::prometheus {

// "# HELP name help\n# TYPE name type\n".
std::string header(std::string_view name, std::string_view help, std::string_view type);
// A whole gauge or counter with one unlabelled sample.
std::string gauge(std::string_view name, std::string_view help, double value);
std::string counter(std::string_view name, std::string_view help, std::uint64_t value);
// The sample lines of a histogram (no HELP/TYPE); `labels` like `route="x"`, or empty.
void histogram_samples(std::string& out, std::string_view name, std::string_view labels, const histogram& h);
// A number as Prometheus prints it ("%.17g").
std::string number(double v);

}  // namespace ledger::prometheus
