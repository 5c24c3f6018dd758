// metrics.cpp: the per-epoch CSV.
#include "course/metrics.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "course/files.h"

namespace course {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) fields.push_back(field);
  return fields;
}

std::string csv_line(const std::vector<double>& values, size_t columns) {
  if (values.size() != columns) {
    throw std::invalid_argument(
        fmt::format("metrics row has {} values for {} columns", values.size(), columns));
  }
  return fmt::format("{}\n", fmt::join(values, ","));
}

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& path, std::vector<std::string> columns,
                       bool append)
    : path_(path), columns_(std::move(columns)) {
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
  if (append && std::filesystem::exists(path_)) {
    std::ifstream existing(path_);
    std::string first;
    std::getline(existing, first);
    if (first == fmt::format("{}", fmt::join(columns_, ","))) return;  // continue this file
  }
  rewrite({});
}

void MetricsLog::write(const std::vector<double>& values) {
  append_to_file(path_, csv_line(values, columns_.size()));
}

void MetricsLog::rewrite(const std::vector<std::vector<double>>& rows) {
  std::string text = fmt::format("{}\n", fmt::join(columns_, ","));
  for (const auto& row : rows) text += csv_line(row, columns_.size());
  write_file_atomically(path_, text);
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
