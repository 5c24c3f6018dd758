// checkpoint.cpp: atomic checkpoints with torch::serialize archives.
#include "checkpoint.h"

#include <c10/util/Exception.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace course::mlp {
namespace {

namespace fs = std::filesystem;

// Written into every checkpoint; a file without it is not one of ours.
constexpr const char* kFormat = "course.07_mlp.checkpoint.v1";

// A readable message from any exception (a c10::Error's what() carries a C++ backtrace).
std::string reason(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    return torch_error->what_without_backtrace();
  }
  return error.what();
}

// The state of LibTorch's default generator for a device. Python: torch.get_rng_state() for
// the CPU, torch.cuda.get_rng_state() for a GPU.
torch::Tensor rng_state(const torch::Device& device) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();  // uint8 bytes, on the CPU
}

void set_rng_state(const torch::Device& device, const torch::Tensor& state) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.to(torch::kCPU));
}

// Asks the operating system to put a file (or a folder's entry list) on the disk now, so that a
// power cut after the rename cannot leave an empty file behind.
void sync_to_disk(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open {} to flush it", path.string()));
  const int result = ::fsync(fd);
  ::close(fd);
  if (result != 0) throw std::runtime_error(fmt::format("cannot flush {}", path.string()));
}

torch::Tensor history_tensor(const std::vector<std::vector<double>>& history) {
  if (history.empty()) return torch::zeros({0, 0}, torch::kFloat64);
  const auto columns = static_cast<int64_t>(history.front().size());
  auto table = torch::zeros({static_cast<int64_t>(history.size()), columns}, torch::kFloat64);
  for (size_t row = 0; row < history.size(); ++row) {
    TORCH_CHECK(static_cast<int64_t>(history[row].size()) == columns, "ragged history");
    table[static_cast<int64_t>(row)] = torch::tensor(history[row], torch::kFloat64);
  }
  return table;  // (epochs, columns)
}

std::vector<std::vector<double>> history_rows(const torch::Tensor& table) {
  std::vector<std::vector<double>> rows;
  const auto cpu = table.to(torch::kCPU, torch::kFloat64).contiguous();
  for (int64_t row = 0; row < cpu.size(0); ++row) {
    const double* begin = cpu[row].data_ptr<double>();
    rows.emplace_back(begin, begin + cpu.size(1));
  }
  return rows;
}

// Reads the tensor "layers.0.weight" from a module's archive, where Module::save nests it as
// layers -> 0 -> weight. False when any part is missing.
bool read_parameter(torch::serialize::InputArchive& root, const std::string& key,
                    torch::Tensor& tensor) {
  std::vector<std::string> parts;
  for (size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
    dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? dot : dot - start));
  }
  std::vector<torch::serialize::InputArchive> nested(parts.size());
  torch::serialize::InputArchive* current = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!current->try_read(parts[i], nested[i])) return false;
    current = &nested[i];
  }
  return current->try_read(parts.back(), tensor);
}

c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key,
                       const fs::path& path) {
  c10::IValue value;
  if (!archive.try_read(key, value)) {
    throw std::runtime_error(fmt::format(
        "{} has no '{}': it was not written by this version of the lesson. Delete it and start "
        "again without --resume.",
        path.string(), key));
  }
  return value;
}

}  // namespace

std::vector<double> TrainingState::column(const std::string& name) const {
  const auto found = std::find(kHistoryColumns.begin(), kHistoryColumns.end(), name);
  TORCH_CHECK(found != kHistoryColumns.end(), "no history column named ", name);
  const auto index = static_cast<size_t>(found - kHistoryColumns.begin());
  std::vector<double> values;
  for (const auto& row : history) values.push_back(row.at(index));
  return values;
}

void save_checkpoint(const fs::path& path, const Mlp& model,
                     const torch::optim::Optimizer& optimizer, const TrainingState& state,
                     const torch::Device& device) {
  // Python: torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), ...}, tmp)
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("architecture", c10::IValue(model->architecture()));
  archive.write("settings", c10::IValue(state.settings));
  archive.write("epochs_done", c10::IValue(state.epochs_done));
  archive.write("best_val_acc", c10::IValue(state.best_val_acc));
  archive.write("best_epoch", c10::IValue(state.best_epoch));
  archive.write("history", history_tensor(state.history));
  archive.write("rng_cpu", rng_state(torch::kCPU));
  if (device.is_cuda()) archive.write("rng_device", rng_state(device));
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);

  // Write beside the target (same folder, so the same file system), check, then rename: a
  // rename within one file system replaces the old file in one step.
  fs::path temporary = path;
  temporary += ".tmp";
  try {
    archive.save_to(temporary.string());
    sync_to_disk(temporary);
    torch::serialize::InputArchive check;
    check.load_from(temporary.string(), torch::kCPU);  // throws if what we wrote is unreadable
    fs::rename(temporary, path);
  } catch (const std::exception& error) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw std::runtime_error(fmt::format(
        "could not write the checkpoint {} ({}); the previous checkpoint there, if any, is "
        "unchanged. Check the disk space and that --out is writable.",
        path.string(), reason(error)));
  }
  // Also flush the folder's entry list, so the rename itself is on the disk. Best effort: the new
  // checkpoint is already in place and readable.
  try {
    sync_to_disk(path.has_parent_path() ? path.parent_path() : fs::path("."));
  } catch (const std::exception&) {
    // Some file systems cannot flush a folder; the checkpoint is written either way.
  }
}

TrainingState load_checkpoint(const fs::path& path, Mlp& model, torch::optim::Optimizer& optimizer,
                              const std::string& settings, const torch::Device& device) {
  if (!fs::exists(path)) {
    throw std::runtime_error(fmt::format(
        "no checkpoint at {}: nothing to resume. Run once without --resume (same --out) first.",
        path.string()));
  }
  // 1. Read the file. A truncated or damaged zip archive fails here.
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string(), device);
  } catch (const std::exception& error) {
    throw std::runtime_error(fmt::format(
        "{} is not a readable checkpoint: it is truncated or damaged ({}). Delete it and start "
        "again without --resume.",
        path.string(), reason(error)));
  }

  // 2. Check that it is ours, for this model and this optimizer, before changing anything.
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() ||
      format.toStringRef() != kFormat) {
    throw std::runtime_error(fmt::format(
        "{} is not a 07_mlp checkpoint. Point --out at this lesson's output folder, or start "
        "again without --resume.",
        path.string()));
  }
  const std::string saved_architecture = read_value(archive, "architecture", path).toStringRef();
  if (saved_architecture != model->architecture()) {
    throw std::runtime_error(fmt::format(
        "{} holds an MLP {}, but this run builds an MLP {}. Resume with the --hidden of that run, "
        "or start again without --resume.",
        path.string(), saved_architecture, model->architecture()));
  }
  const std::string saved_settings = read_value(archive, "settings", path).toStringRef();
  if (saved_settings != settings) {
    throw std::runtime_error(fmt::format(
        "{} was made by a run with \"{}\", this run has \"{}\". Resume with the flags of that "
        "run, or start again without --resume.",
        path.string(), saved_settings, settings));
  }
  torch::serialize::InputArchive model_archive;
  torch::serialize::InputArchive optimizer_archive;
  if (!archive.try_read("model", model_archive) ||
      !archive.try_read("optimizer", optimizer_archive)) {
    throw std::runtime_error(
        fmt::format("{} lacks the model or the optimizer state. Delete it "
                    "and start again without --resume.",
                    path.string()));
  }
  for (const auto& parameter : model->named_parameters()) {
    torch::Tensor saved;
    if (!read_parameter(model_archive, parameter.key(), saved)) {
      throw std::runtime_error(fmt::format("{} has no parameter {}: it is for another model.",
                                           path.string(), parameter.key()));
    }
    if (saved.sizes() != parameter.value().sizes()) {
      throw std::runtime_error(fmt::format(
          "{}: parameter {} has shape [{}], this model needs [{}].", path.string(), parameter.key(),
          fmt::join(saved.sizes(), ", "), fmt::join(parameter.value().sizes(), ", ")));
    }
  }
  TrainingState state;
  state.settings = saved_settings;
  state.epochs_done = read_value(archive, "epochs_done", path).toInt();
  state.best_val_acc = read_value(archive, "best_val_acc", path).toDouble();
  state.best_epoch = read_value(archive, "best_epoch", path).toInt();
  torch::Tensor history;
  torch::Tensor cpu_state;
  if (!archive.try_read("history", history) || !archive.try_read("rng_cpu", cpu_state)) {
    throw std::runtime_error(
        fmt::format("{} lacks the history or the random-number state. Delete "
                    "it and start again without --resume.",
                    path.string()));
  }
  if (history.numel() > 0 &&
      (history.dim() != 2 || history.size(1) != static_cast<int64_t>(kHistoryColumns.size()))) {
    throw std::runtime_error(
        fmt::format("{}: its history has {} columns, this lesson writes {}. "
                    "Delete it and start again without --resume.",
                    path.string(), history.size(-1), kHistoryColumns.size()));
  }
  state.history = history_rows(history);

  // 3. Everything checked: now change the model, the optimizer and the generators.
  try {
    model->load(model_archive);
    optimizer.load(optimizer_archive);
  } catch (const std::exception& error) {
    throw std::runtime_error(fmt::format("{}: the saved model or optimizer state does not fit ({})",
                                         path.string(), reason(error)));
  }
  set_rng_state(torch::kCPU, cpu_state);
  torch::Tensor device_state;
  if (device.is_cuda() && archive.try_read("rng_device", device_state)) {
    set_rng_state(device, device_state);
  }
  return state;
}

}  // namespace course::mlp
