// history.h: the paperwork of a training run, one row per epoch: metrics.csv, the loss and
// accuracy curves, and the RESULT line. The training loop itself stays in the lesson.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "course/metrics.h"

namespace course {

/// One row per epoch, written to <out>/metrics.csv as soon as it is added (a killed run keeps its
/// rows). The columns are "epoch" and then the lesson's own, named by convention:
///   <split>_loss, <split>_acc   drawn as curves (split: train, val, test, ...)
///   seconds                     the epoch's wall time
///   compute_seconds             of which forward, backward and optimizer steps
/// Python: course_common.History, with the same columns and the same CSV.
///
///   course::History history(lesson.out_dir, {"train_loss", "train_acc", "test_loss",
///                                            "test_acc", "seconds", "compute_seconds"});
///   history.add(epoch, {train.loss, train.accuracy, test.loss, test.accuracy, seconds, compute});
///   ...
///   history.plot("08_cnn");                      // loss.png, accuracy.png
///   history.print_result("08_cnn", n_train);     // RESULT lesson=08_cnn epochs=10 ...
class History {
 public:
  History(const std::filesystem::path& out_dir, std::vector<std::string> columns);

  /// Adds the row of one epoch (the values in the order of the columns) and appends it to the CSV.
  void add(int64_t epoch, const std::vector<double>& values);

  /// Replaces every row, for example with those a checkpoint saved, and rewrites the CSV.
  void restore(const std::vector<std::vector<double>>& rows);

  /// All rows, each beginning with its epoch.
  const std::vector<std::vector<double>>& rows() const { return rows_; }
  /// One column by name ("epoch" too), one value per epoch.
  std::vector<double> column(const std::string& name) const;
  /// The last epoch's value of a column.
  double last(const std::string& name) const;

  /// Draws loss.png and accuracy.png in the output folder: every <split>_loss and <split>_acc
  /// column against the epoch. Returns the file names it wrote.
  std::vector<std::string> plot(const std::string& title) const;

  /// Prints the RESULT line: epochs, epoch_time_s (mean of "seconds"), train_samples_per_s,
  /// test_acc (the last epoch's), outside_share (the share of the time spent outside
  /// compute_seconds: data, logging, evaluation bookkeeping).
  void print_result(const std::string& lesson, int64_t train_samples) const;

  const std::filesystem::path& csv_path() const { return log_.path(); }

 private:
  std::filesystem::path out_dir_;
  std::vector<std::string> columns_;  // "epoch" first
  std::vector<std::vector<double>> rows_;
  MetricsLog log_;
};

}  // namespace course
