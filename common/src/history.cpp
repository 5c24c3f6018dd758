// history.cpp: rows, CSV, curves and the RESULT line of a training run.
#include "course/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <tuple>

#include "course/lesson.h"
#include "course/plot.h"

namespace course {
namespace {

std::vector<std::string> with_epoch(std::vector<std::string> columns) {
  columns.insert(columns.begin(), "epoch");
  return columns;
}

}  // namespace

History::History(const std::filesystem::path& out_dir, std::vector<std::string> columns)
    : out_dir_(out_dir),
      columns_(with_epoch(std::move(columns))),
      log_(out_dir / "metrics.csv", columns_) {}

void History::add(int64_t epoch, const std::vector<double>& values) {
  std::vector<double> row = {static_cast<double>(epoch)};
  row.insert(row.end(), values.begin(), values.end());
  log_.write(row);  // checks the number of values
  rows_.push_back(std::move(row));
}

void History::restore(const std::vector<std::vector<double>>& rows) {
  for (const auto& row : rows) {
    if (row.size() != columns_.size()) {
      throw std::invalid_argument(
          fmt::format("a history row has {} values for {} columns", row.size(), columns_.size()));
    }
  }
  log_.rewrite(rows);  // in one step: the CSV holds exactly these rows
  rows_ = rows;
}

std::vector<double> History::column(const std::string& name) const {
  const auto found = std::find(columns_.begin(), columns_.end(), name);
  if (found == columns_.end()) {
    throw std::invalid_argument(fmt::format("the history has no column '{}'", name));
  }
  const auto index = static_cast<std::size_t>(found - columns_.begin());
  std::vector<double> values;
  for (const auto& row : rows_) values.push_back(row[index]);
  return values;
}

double History::last(const std::string& name) const {
  const auto values = column(name);
  if (values.empty()) throw std::runtime_error("no epoch was trained yet; check --epochs");
  return values.back();
}

std::vector<std::string> History::plot(const std::string& title) const {
  const auto epochs = column("epoch");
  std::vector<std::string> written;
  for (const auto& [suffix, file, what] :
       {std::tuple{"_loss", "loss.png", "loss"}, std::tuple{"_acc", "accuracy.png", "accuracy"}}) {
    std::vector<Series> series;
    for (const auto& name : columns_) {
      const std::string end = suffix;
      if (name.size() > end.size() &&
          name.compare(name.size() - end.size(), end.size(), end) == 0) {
        series.push_back({name.substr(0, name.size() - end.size()), epochs, column(name)});
      }
    }
    if (series.empty()) continue;
    plot_lines(series, fmt::format("{}: {}", title, what), "epoch", what, out_dir_ / file);
    written.emplace_back(file);
  }
  return written;
}

void History::print_result(const std::string& lesson, int64_t train_samples) const {
  const auto seconds = column("seconds");
  const auto compute = column("compute_seconds");
  if (seconds.empty()) throw std::runtime_error("no epoch was trained; check --epochs");
  const double total = std::accumulate(seconds.begin(), seconds.end(), 0.0);
  const double total_compute = std::accumulate(compute.begin(), compute.end(), 0.0);
  const auto epochs = static_cast<double>(seconds.size());
  course::print_result(
      lesson, {{"epochs", epochs},
               {"epoch_time_s", total / epochs},
               {"train_samples_per_s", static_cast<double>(train_samples) * epochs / total},
               {"test_acc", last("test_acc")},
               {"outside_share", 1.0 - total_compute / total}});
}

}  // namespace course
