// metrics.cpp: the per-epoch CSV.
#include "course/metrics.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sstream>
#include <stdexcept>

namespace course {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) fields.push_back(field);
  return fields;
}

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& path, std::vector<std::string> columns,
                       bool append)
    : path_(path), columns_(std::move(columns)) {
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
  const std::string header = fmt::format("{}", fmt::join(columns_, ","));
  bool keep = false;
  if (append && std::filesystem::exists(path_)) {
    std::ifstream existing(path_);
    std::string first;
    std::getline(existing, first);
    keep = first == header;
  }
  file_.open(path_, keep ? std::ios::app : std::ios::trunc);
  if (!file_) throw std::runtime_error(fmt::format("cannot write metrics to {}", path_.string()));
  if (!keep) file_ << header << '\n' << std::flush;
}

void MetricsLog::write(const std::vector<double>& values) {
  if (values.size() != columns_.size()) {
    throw std::invalid_argument(
        fmt::format("metrics row has {} values for {} columns", values.size(), columns_.size()));
  }
  file_ << fmt::format("{}", fmt::join(values, ",")) << '\n' << std::flush;
}

MetricsTable read_metrics(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(fmt::format("cannot read metrics from {}", path.string()));
  MetricsTable table;
  std::string line;
  if (std::getline(file, line)) table.columns = split(line);
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    for (const auto& field : split(line)) row.push_back(std::stod(field));
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace course
