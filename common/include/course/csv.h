// csv.h: reading a CSV file of whole numbers (a header line, then rows of comma-separated
// integers, the layout of Kaggle's image datasets) into one tensor, with errors that name the line.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

namespace course {

/// Reads `path`: one header line (its comma-separated names give the number of columns), then one
/// row per line, each with exactly that many comma-separated integers in [min, max]. Empty lines
/// are skipped and Windows line ends ("\r\n") are accepted. Returns int32 (rows, columns).
/// Throws std::runtime_error "<path> line <n>: ..." on the first row with the wrong number of
/// values, a value that is not a whole number or one outside [min, max]; and when the file cannot
/// be opened or has no data rows. Python: numpy.loadtxt(path, delimiter=",", skiprows=1)
torch::Tensor read_csv_integers(const std::filesystem::path& path, int32_t min, int32_t max);

}  // namespace course
