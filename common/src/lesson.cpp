// lesson.cpp: the start and the error exit every lesson shares.
#include "course/lesson.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "course/build_info.h"
#include "course/device.h"
#include "course/seed.h"

namespace course {

namespace {

namespace fs = std::filesystem;

// ---- Run folders ----
// N of a folder named run_N (N from 1, digits only), or 0 for any other name.
int64_t run_number(const fs::path& folder) {
  const std::string name = folder.filename().string();
  constexpr std::string_view kPrefix = "run_";
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) return 0;
  int64_t number = 0;
  const char* first = name.data() + kPrefix.size();
  const char* last = name.data() + name.size();
  const auto [end, error] = std::from_chars(first, last, number);
  return error == std::errc() && end == last && *first != '0' ? number : 0;
}

// Every run folder under root, largest N first.
std::vector<std::pair<int64_t, fs::path>> run_folders(const fs::path& root) {
  std::vector<std::pair<int64_t, fs::path>> runs;
  std::error_code error;
  for (fs::directory_iterator entry(root, error), end; !error && entry != end;
       entry.increment(error)) {
    const int64_t number = run_number(entry->path());
    if (number > 0 && entry->is_directory()) runs.emplace_back(number, entry->path());
  }
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a > b; });
  return runs;
}

// ---- Ctrl-C: stop at a safe point ----
volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void ask_to_stop(int) {
  g_stop_requested = 1;
  static const char kMessage[] =
      "\nstopping after this epoch, once its checkpoint is written (Ctrl-C again: stop at once and "
      "lose this epoch)\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

// The first SIGINT or SIGTERM only sets the flag; SA_RESETHAND: the next one ends the program.
// A signal ignored from the start stays ignored (a job started in the background by a script:
// Ctrl-C in the terminal is not for it).
void stop_at_a_safe_point_on_signals() {
  struct sigaction action {};
  action.sa_handler = ask_to_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  for (const int signal : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    sigaction(signal, nullptr, &current);
    if (current.sa_handler != SIG_IGN) sigaction(signal, &action, nullptr);
  }
}

}  // namespace

fs::path new_run_folder(const fs::path& root) {
  std::error_code error;
  fs::create_directories(root, error);
  if (error) {
    throw std::runtime_error(
        fmt::format("cannot create the output folder {}: {}", root.string(), error.message()));
  }
  const auto runs = run_folders(root);
  for (int64_t number = runs.empty() ? 1 : runs.front().first + 1;; ++number) {
    const fs::path folder = root / fmt::format("run_{}", number);
    // create_directory says false when the folder is there already: another run, started at the
    // same moment, took that number, so take the next one.
    if (fs::create_directory(folder, error)) return folder;
    if (error) {
      throw std::runtime_error(
          fmt::format("cannot create the run folder {}: {}", folder.string(), error.message()));
    }
  }
}

fs::path run_to_resume(const fs::path& root, const std::string& file) {
  if (fs::exists(root / file)) return root;  // --out names a run's folder
  for (const auto& [number, folder] : run_folders(root)) {
    if (fs::exists(folder / file)) return folder;
  }
  throw std::runtime_error(fmt::format(
      "--resume: no run folder in {} holds a {} to continue. Run once without --resume (same "
      "--out) first, or point --out at the folder that holds the runs.",
      root.string(), file));
}

Lesson begin_lesson(const Flags& flags, const Checkpoints& checkpoints) {
  const Options& options = flags.options();
  if (checkpoints.resume && checkpoints.file.empty()) {
    throw std::invalid_argument("begin_lesson: resume needs the checkpoint's file name");
  }
  if (options.threads > 0) at::set_num_threads(options.threads);
  seed_everything(options.seed);

  Lesson lesson;
  lesson.device = choose_device(options.device);
  const fs::path root = options.out.empty()
                            ? fs::path(build_info::kBinaryDir) / "out" / flags.lesson()
                            : fs::path(options.out);
  lesson.out_dir =
      checkpoints.resume ? run_to_resume(root, checkpoints.file) : new_run_folder(root);
  if (!checkpoints.file.empty()) {
    lesson.checkpoint = lesson.out_dir / checkpoints.file;
    stop_at_a_safe_point_on_signals();
  }
  fmt::print("== {} | LibTorch {} | device {} | threads {} | seed {}\n", flags.lesson(),
             torch_version(), describe_device(lesson.device), at::get_num_threads(), options.seed);
  fmt::print("run folder: {}{}\n", lesson.out_dir.string(),
             checkpoints.resume ? " (continued, --resume)" : " (new)");
  std::fflush(stdout);
  return lesson;
}

bool stop_requested() {
  return g_stop_requested != 0;
}

void stop_if_interrupted(const Lesson& lesson, int64_t epoch) {
  if (!stop_requested()) return;
  throw Interrupted(fmt::format(
      "stopped after epoch {}, as asked; {} holds it. Run again with --resume (same --out) to "
      "continue from there.",
      epoch, lesson.checkpoint.string()));
}

void stop_if_diverged(double loss, int64_t epoch, double lr) {
  if (std::isfinite(loss)) return;
  throw std::runtime_error(
      fmt::format("loss became {} at epoch {}; lower --lr (now {})", loss, epoch, lr));
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

std::string torch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

void print_result(const std::string& lesson,
                  const std::vector<std::pair<std::string, double>>& values) {
  std::string line = "RESULT lesson=" + lesson;
  for (const auto& [key, value] : values) line += fmt::format(" {}={:.6g}", key, value);
  fmt::print("{}\n", line);
  std::fflush(stdout);
}

int report_error(const std::exception& error) {
  std::cout.flush();
  // A c10::Error's what() carries a C++ backtrace that helps LibTorch's developers, not a learner.
  if (dynamic_cast<const Interrupted*>(&error) != nullptr) {
    std::cerr << error.what() << "\n";
    return 130;
  }
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    std::cerr << "error: " << torch_error->what_without_backtrace() << "\n";
  } else {
    std::cerr << "error: " << error.what() << "\n";
  }
  return 1;
}

}  // namespace course
