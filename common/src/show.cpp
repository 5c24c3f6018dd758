// show.cpp: the tensor printer of course/show.h.
#include "course/show.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

namespace course {

std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat64:
      return "float64";
    case torch::kFloat16:
      return "float16";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kInt64:
      return "int64";
    case torch::kInt32:
      return "int32";
    case torch::kInt16:
      return "int16";
    case torch::kInt8:
      return "int8";
    case torch::kUInt8:
      return "uint8";
    case torch::kBool:
      return "bool";
    default:
      return c10::toString(type);
  }
}

std::string describe(const torch::Tensor& tensor) {
  return fmt::format("{} [{}]", dtype_name(tensor.scalar_type()),
                     fmt::join(tensor.sizes().vec(), ", "));
}

namespace {

// Writes dimension `dim` of a tensor whose cells (already padded) start at `offset`.
void write_nested(const std::vector<std::string>& cells, const std::vector<int64_t>& sizes,
                  size_t dim, int64_t offset, std::string& out) {
  int64_t stride = 1;
  for (size_t d = dim + 1; d < sizes.size(); ++d) stride *= sizes[d];
  out += '[';
  for (int64_t i = 0; i < sizes[dim]; ++i) {
    if (i > 0) {
      out += ',';
      if (dim + 1 == sizes.size()) {
        out += ' ';
      } else {
        // A new line for each row; one blank line between the matrices of a 3-D tensor.
        out += std::string(sizes.size() - dim - 1, '\n') + std::string(dim + 1, ' ');
      }
    }
    if (dim + 1 == sizes.size()) {
      out += cells[offset + i];
    } else {
      write_nested(cells, sizes, dim + 1, offset + i * stride, out);
    }
  }
  out += ']';
}

}  // namespace

std::string format_values(const torch::Tensor& tensor, int decimals) {
  // One copy as float64 on the CPU, so one loop reads every dtype (int64 is exact up to 2^53).
  const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = values.data_ptr<double>();
  std::vector<std::string> cells(values.numel());
  for (int64_t i = 0; i < values.numel(); ++i) {
    if (tensor.scalar_type() == torch::kBool) {
      cells[i] = data[i] != 0.0 ? "true" : "false";
    } else if (tensor.is_floating_point()) {
      cells[i] = fmt::format("{:.{}f}", data[i], decimals);
    } else {
      cells[i] = fmt::format("{}", static_cast<int64_t>(data[i]));
    }
  }
  size_t width = 0;
  for (const auto& cell : cells) width = std::max(width, cell.size());
  for (auto& cell : cells) cell = std::string(width - cell.size(), ' ') + cell;  // right-align

  if (tensor.dim() == 0) return cells[0];
  if (tensor.numel() == 0) return "[]";
  std::string out;
  write_nested(cells, tensor.sizes().vec(), 0, 0, out);
  return out;
}

std::string format_short(const torch::Tensor& tensor, int significant) {
  const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* begin = values.data_ptr<double>();
  return fmt::format("[{:.{}g}]", fmt::join(begin, begin + values.numel(), ", "), significant);
}

void show(const std::string& label, const torch::Tensor& tensor) {
  const std::string values = format_values(tensor);
  if (tensor.dim() <= 1) {
    fmt::print("  {} = {}   {}\n", label, values, describe(tensor));
    return;
  }
  std::string indented = "    ";
  for (char c : values) {
    indented += c;
    if (c == '\n') indented += "    ";
  }
  fmt::print("  {}   {}\n{}\n", label, describe(tensor), indented);
}

}  // namespace course
