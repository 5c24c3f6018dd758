// checkpoint.cpp: atomic writes, opening archives, generator state, nested tensors, tables.
#include "course/checkpoint.h"

#include <c10/util/Exception.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>

namespace course {
namespace {

namespace fs = std::filesystem;

// A readable message from any exception (a c10::Error's what() carries a C++ backtrace).
std::string reason(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    return torch_error->what_without_backtrace();
  }
  return error.what();
}

// Asks the operating system to put a file (or a folder's list of entries) on the disk now, so
// that a power cut after the rename cannot leave an empty file behind.
void sync_to_disk(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open {} to flush it", path.string()));
  const int result = ::fsync(fd);
  ::close(fd);
  if (result != 0) throw std::runtime_error(fmt::format("cannot flush {}", path.string()));
}

}  // namespace

void save_atomically(torch::serialize::OutputArchive& archive, const fs::path& path) {
  fs::path temporary = path;
  temporary += ".tmp";
  try {
    archive.save_to(temporary.string());
    sync_to_disk(temporary);
    torch::serialize::InputArchive check;
    check.load_from(temporary.string(), torch::kCPU);  // throws if what we wrote is unreadable
    fs::rename(temporary, path);                       // within one file system: one step
  } catch (const std::exception& error) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw std::runtime_error(fmt::format(
        "could not write the checkpoint {} ({}); the previous checkpoint there, if any, is "
        "unchanged. Check the disk space and that the folder is writable.",
        path.string(), reason(error)));
  }
  // Also flush the folder's list of entries, so that the rename itself is on the disk. Best
  // effort: some file systems cannot flush a folder, and the new file is in place either way.
  try {
    sync_to_disk(path.has_parent_path() ? path.parent_path() : fs::path("."));
  } catch (const std::exception&) {
  }
}

torch::serialize::InputArchive open_checkpoint(const fs::path& path, const torch::Device& device) {
  if (!fs::exists(path)) {
    throw std::runtime_error(fmt::format(
        "no checkpoint at {}: nothing to resume. Run once without --resume (same --out) first.",
        path.string()));
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string(), device);
  } catch (const std::exception& error) {
    throw std::runtime_error(fmt::format(
        "{} is not a readable checkpoint: it is truncated or damaged ({}). Delete it and start "
        "again without --resume.",
        path.string(), reason(error)));
  }
  return archive;
}

torch::Tensor rng_state(const torch::Device& device) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_rng_state(const torch::Device& device, const torch::Tensor& state) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.to(torch::kCPU));
}

bool read_module_tensor(torch::serialize::InputArchive& module_archive, const std::string& name,
                        torch::Tensor& tensor) {
  std::vector<std::string> parts;  // "layers.0.weight" -> layers, 0, weight
  for (size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
    dot = name.find('.', start);
    parts.push_back(name.substr(start, dot == std::string::npos ? dot : dot - start));
  }
  std::vector<torch::serialize::InputArchive> nested(parts.size());
  torch::serialize::InputArchive* current = &module_archive;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!current->try_read(parts[i], nested[i])) return false;
    current = &nested[i];
  }
  return current->try_read(parts.back(), tensor);
}

torch::Tensor rows_to_tensor(const std::vector<std::vector<double>>& rows) {
  if (rows.empty()) return torch::zeros({0, 0}, torch::kFloat64);
  const auto columns = static_cast<int64_t>(rows.front().size());
  auto table = torch::zeros({static_cast<int64_t>(rows.size()), columns}, torch::kFloat64);
  for (size_t row = 0; row < rows.size(); ++row) {
    if (static_cast<int64_t>(rows[row].size()) != columns) {
      throw std::invalid_argument(
          fmt::format("row {} has {} values, row 0 has {}", row, rows[row].size(), columns));
    }
    table[static_cast<int64_t>(row)] = torch::tensor(rows[row], torch::kFloat64);
  }
  return table;  // (rows, columns)
}

std::vector<std::vector<double>> rows_from_tensor(const torch::Tensor& table) {
  if (table.dim() != 2) {
    throw std::invalid_argument(
        fmt::format("a table of rows is a 2-D tensor, this one has {} dimensions", table.dim()));
  }
  const auto cpu = table.to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<std::vector<double>> rows;
  for (int64_t row = 0; row < cpu.size(0); ++row) {
    const double* begin = cpu[row].data_ptr<double>();
    rows.emplace_back(begin, begin + cpu.size(1));
  }
  return rows;
}

}  // namespace course
