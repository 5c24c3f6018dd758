// lesson.h: what every lesson's main() does first (seed, threads, device, output folder) and last
// (the RESULT line, and an exception turned into a readable message and a non-zero exit code).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "course/flags.h"

namespace course {

/// What begin_lesson() set up.
struct Lesson {
  torch::Device device{torch::kCPU};  ///< chosen from --device
  std::filesystem::path out_dir;      ///< this run's own folder, <out>/run_N; created
  std::filesystem::path checkpoint;   ///< out_dir / Checkpoints::file, for a lesson that has one
};

/// For a lesson that saves a checkpoint after each epoch and continues from it (07_mlp).
struct Checkpoints {
  std::string file;     ///< its name in the run's folder: "checkpoint.pt"
  bool resume = false;  ///< the lesson's --resume: continue the latest run instead of a new one
};

/// Seeds, sets the thread count, chooses the device and prints one banner line (lesson, LibTorch
/// version, device, threads, seed). Then the run's folder, printed on the next line: every run
/// gets a new one, <out>/run_N (N one more than the largest there; <out> is --out, or
/// <build>/out/<lesson>), so a run never overwrites the files of an earlier one. With
/// `checkpoints.resume` the run continues the latest run folder that holds the checkpoint (or
/// --out itself, when it holds one: --out <out>/run_1 --resume continues an older run). A lesson
/// with checkpoints also stops at a safe point on Ctrl-C (SIGINT) or SIGTERM: see
/// stop_if_interrupted. Python: Lightning's lightning_logs/version_N, and ckpt_path="last".
Lesson begin_lesson(const Flags& flags, const Checkpoints& checkpoints = {});

/// Creates and returns a new folder <root>/run_N, N one more than the largest there (run_1 in an
/// empty or missing root). Two runs started at once get different folders.
std::filesystem::path new_run_folder(const std::filesystem::path& root);
/// The run folder a --resume continues: the run_N under `root` with the largest N that holds
/// `file`, or `root` itself when it holds `file`. Throws std::runtime_error naming root if none.
std::filesystem::path run_to_resume(const std::filesystem::path& root, const std::string& file);

/// After begin_lesson with checkpoints, the first Ctrl-C (or SIGTERM) only asks the run to stop;
/// the lesson calls this at a safe point, after an epoch's checkpoint is written, and it throws
/// Interrupted there, naming the checkpoint and how to continue. A second Ctrl-C stops at once,
/// the last checkpoint complete either way (files.h finishes a write before a signal acts).
void stop_if_interrupted(const Lesson& lesson, int64_t epoch);
/// True once a stop was asked for.
bool stop_requested();

/// A loss that is NaN or infinite means training diverged (a learning rate too large, most often):
/// throws std::runtime_error "loss became nan at epoch 3; lower --lr (now 5)" instead of training
/// on. Call it where the lesson reads the loss anyway (at log points, not every step).
void stop_if_diverged(double loss, int64_t epoch, double lr);

/// Thrown by stop_if_interrupted; report_error prints its message and returns 130 (128 + SIGINT,
/// the exit status of a program that Ctrl-C ended).
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Number of trainable numbers in a module (every parameter's numel, summed), for the "model:"
/// line lessons print. Python: sum(p.numel() for p in model.parameters())
int64_t parameter_count(const torch::nn::Module& module);

/// "2.11.0": the LibTorch version the program was compiled with.
std::string torch_version();

/// Prints the one line `./course bench` reads, "RESULT lesson=08_cnn epochs=10 test_acc=0.9255
/// ...", every number with 6 significant digits. Python: course_common.result_line.
void print_result(const std::string& lesson,
                  const std::vector<std::pair<std::string, double>>& values);

/// Prints "error: <what>" (without LibTorch's C++ backtrace) to stderr and returns 1; for
/// Interrupted, "stopped: <what>" and 130.
/// Every main() ends with: catch (const std::exception& e) { return course::report_error(e); }
int report_error(const std::exception& error);

}  // namespace course
