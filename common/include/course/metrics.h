// metrics.h: a CSV file with one row per epoch (or step), for plots and for comparing runs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace course {

class MetricsLog {
 public:
  /// Creates (replaces) `path` with the header row. With `append`, an existing file with the
  /// same header is kept and continued (a resumed run). Every write goes through course/files.h:
  /// a full disk is an error that names the file, and the file keeps its earlier rows.
  MetricsLog(const std::filesystem::path& path, std::vector<std::string> columns,
             bool append = false);

  /// Appends one row; the number of values must match the columns. On the disk at once, so a
  /// killed run keeps every row it wrote; a row is written whole or not at all.
  void write(const std::vector<double>& values);

  /// Replaces the file, in one step, with the header and exactly these rows.
  void rewrite(const std::vector<std::vector<double>>& rows);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::vector<std::string> columns_;
};

/// Reads a CSV written by MetricsLog: the header and the rows.
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
};
MetricsTable read_metrics(const std::filesystem::path& path);

}  // namespace course
