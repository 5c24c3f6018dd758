// checkpoint.h: the mechanics of a checkpoint file that no lesson is about: writing it atomically,
// opening it with a message that names the file, the default generators' random-number state, a
// tensor from a module's saved archive, and a table of numbers as a tensor. WHAT goes into a
// checkpoint, and the checks that refuse one of another model, stay in the lesson (07_mlp).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace course {

/// Writes `archive` to `path` atomically: to "<path>.tmp" in the same folder (so the same file
/// system), flushed to the disk (fsync), read back, then renamed over `path`, which replaces the
/// file in one step. A run killed at any moment leaves the previous file or the new one, never
/// half of one. On any failure removes the .tmp, leaves a previous file at `path` as it was and
/// throws std::runtime_error naming the file. Python: torch.save(obj, tmp); os.fsync(...);
/// os.replace(tmp, path)
void save_atomically(torch::serialize::OutputArchive& archive, const std::filesystem::path& path);

/// Opens the archive at `path`, its tensors on `device`. Throws std::runtime_error naming the file
/// when there is none ("nothing to resume") or it is not readable ("truncated or damaged").
/// Python: torch.load(path, map_location=device, weights_only=True)
torch::serialize::InputArchive open_checkpoint(const std::filesystem::path& path,
                                               const torch::Device& device);

/// The state of LibTorch's default generator for `device` (the CPU's, or a GPU's): uint8 bytes on
/// the CPU. Python: torch.get_rng_state(), torch.cuda.get_rng_state(device)
torch::Tensor rng_state(const torch::Device& device);

/// Puts back a state rng_state() returned: the next random numbers are the ones that followed it.
/// Python: torch.set_rng_state(state), torch.cuda.set_rng_state(state, device)
void set_rng_state(const torch::Device& device, const torch::Tensor& state);

/// Reads the tensor `name` ("layers.0.weight") from the archive a Module::save wrote, where it is
/// nested as layers -> 0 -> weight. False when any part of the name is missing.
bool read_module_tensor(torch::serialize::InputArchive& module_archive, const std::string& name,
                        torch::Tensor& tensor);

/// Rows of numbers (a History's rows) as a float64 tensor (rows, columns), to store in an archive;
/// (0, 0) when there are none. Throws std::invalid_argument when the rows differ in length.
torch::Tensor rows_to_tensor(const std::vector<std::vector<double>>& rows);
/// The rows back from such a tensor; throws std::invalid_argument unless it is 2-D.
std::vector<std::vector<double>> rows_from_tensor(const torch::Tensor& table);

}  // namespace course
