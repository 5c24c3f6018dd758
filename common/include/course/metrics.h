// metrics.h: a CSV file with one row per epoch (or step), for plots and for comparing runs.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace course {

class MetricsLog {
 public:
  /// Creates (truncates) `path` and writes the header row. With `append`, an existing file with
  /// the same header is kept and continued (a resumed run).
  MetricsLog(const std::filesystem::path& path, std::vector<std::string> columns,
             bool append = false);

  /// Writes one row; the number of values must match the columns. Flushed at once, so a killed
  /// run keeps every row it wrote.
  void write(const std::vector<double>& values);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::vector<std::string> columns_;
  std::ofstream file_;
};

/// Reads a CSV written by MetricsLog: the header and the rows.
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
};
MetricsTable read_metrics(const std::filesystem::path& path);

}  // namespace course
