// checkpoint.h: the mechanics of a checkpoint file that no lesson is about: writing it atomically,
// opening it with a message that names the file, the default generators' random-number state, a
// tensor from a module's saved archive, and a table of numbers as a tensor. WHAT goes into a
// checkpoint, and the checks that refuse one of another model, stay in the lesson (07_mlp).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace course {

/// Writes `archive` to `path` with course::write_file_atomically (files.h): "<path>.tmp", fsync,
/// read back, renamed over `path`; a run killed or stopped at any moment, or a full disk, leaves
/// the previous file or the new one, never half of one, and no .tmp. The file is the zip LibTorch
/// writes with a CRC-32 of its bytes in the zip's comment (checkpoint_bytes), which open_checkpoint
/// checks. Throws std::runtime_error naming the file. Python: torch.save(obj, tmp); os.replace(tmp,
/// path)
void save_atomically(torch::serialize::OutputArchive& archive, const std::filesystem::path& path);

/// Opens the checkpoint at `path`, its tensors on `device`, after checking its checksum. Throws
/// std::runtime_error naming the file when there is none ("nothing to resume"), when it is cut
/// short or its bytes do not match the checksum ("damaged"), or when it does not parse.
/// Python: torch.load(path, map_location=device, weights_only=True)
torch::serialize::InputArchive open_checkpoint(const std::filesystem::path& path,
                                               const torch::Device& device);

/// The bytes save_atomically writes: the archive as LibTorch saves it (a zip file) with the CRC-32
/// of those bytes added as the zip's comment ("course checkpoint crc32 1a2b3c4d"), at the very
/// end, where a reader finds it before parsing anything. The file stays a valid zip.
std::string checkpoint_bytes(torch::serialize::OutputArchive& archive);
/// Adds that checksum to a zip file's bytes that have no comment yet (checkpoint_bytes does).
std::string add_checksum(std::string zip);
/// open_checkpoint on bytes already read; `name` (the file) is what messages call them.
torch::serialize::InputArchive checkpoint_from_bytes(std::string_view bytes,
                                                     const std::string& name,
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
