// checkpoint.h: saving and restoring a whole training run (model, optimizer, epoch, best metric,
// metric history, random-number state) so that --resume continues exactly where a run stopped.
//
// A checkpoint is written ATOMICALLY: to "<path>.tmp" in the same folder, flushed to disk, read
// back, then renamed over <path>. A run killed at any moment leaves either the previous checkpoint
// or the new one, never half of one. Loading checks everything before it changes anything, and
// refuses a truncated file or one from another model with a message that says what to do.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mlp.h"

namespace course::mlp {

/// The columns of a history row (and of metrics.csv). The first six are the same in lessons 04-08.
inline const std::vector<std::string> kHistoryColumns = {
    "epoch",   "train_loss", "train_acc", "test_loss", "test_acc",
    "seconds", "val_loss",   "val_acc",   "lr",        "compute_seconds"};

/// Where a run stands after some epochs: everything besides the model and optimizer that a
/// resumed run needs to end exactly as an uninterrupted one.
struct TrainingState {
  int64_t epochs_done = 0;                   ///< finished epochs; a resumed run starts at this + 1
  double best_val_acc = 0.0;                 ///< best validation accuracy so far
  int64_t best_epoch = 0;                    ///< the epoch that reached it (0: none yet)
  std::vector<std::vector<double>> history;  ///< one metrics.csv row per finished epoch
  /// The flags that change the numbers ("optimizer=adamw lr=0.001 epochs=15 ..."): a run resumes
  /// only a checkpoint made with the same ones, or it would not end as an uninterrupted run.
  std::string settings;

  /// One column of the history, by name: state.column("test_acc") has one value per epoch.
  std::vector<double> column(const std::string& name) const;
};

/// Writes model, optimizer, state and the random-number state (CPU, and the
/// device's when it is a GPU) to `path`, atomically. On failure throws std::runtime_error and
/// leaves any previous checkpoint at `path` as it was.
void save_checkpoint(const std::filesystem::path& path, const Mlp& model,
                     const torch::optim::Optimizer& optimizer, const TrainingState& state,
                     const torch::Device& device);

/// Restores what save_checkpoint wrote into `model` and `optimizer` (built as for a fresh run),
/// restores the random-number state and returns the training state. Throws std::runtime_error,
/// before changing anything, when the file is missing, truncated or damaged, not a checkpoint of
/// this lesson, made for another architecture, or made with other `settings`.
TrainingState load_checkpoint(const std::filesystem::path& path, Mlp& model,
                              torch::optim::Optimizer& optimizer, const std::string& settings,
                              const torch::Device& device);

}  // namespace course::mlp
