// tensors.cpp: lesson 01's recipes. Each function names the Python line it matches.
#include "tensors.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace course::tensors {

using torch::indexing::Ellipsis;
using torch::indexing::None;
using torch::indexing::Slice;

// ---------------------------------------------------------------------------------------------
// Printing

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

// ---------------------------------------------------------------------------------------------
// dtypes

DtypeExamples dtype_examples(const torch::Tensor& ints, const torch::Tensor& floats) {
  TORCH_CHECK(!ints.is_floating_point() && ints.scalar_type() != torch::kBool,
              "dtype_examples: `ints` must be an integer tensor, got ",
              dtype_name(ints.scalar_type()));
  TORCH_CHECK(floats.is_floating_point(), "dtype_examples: `floats` must be floating point, got ",
              dtype_name(floats.scalar_type()));
  DtypeExamples out;
  out.truncated = floats.to(torch::kInt64);  // Python: floats.to(torch.int64)
  out.promoted = ints + 0.5;                 // Python: ints + 0.5
  out.divided = ints / 2;                    // Python: ints / 2
  out.floor_divided = torch::div(ints, 2, /*rounding_mode=*/"floor");  // Python: ints // 2
  out.as_double = floats.to(torch::kFloat64);                          // Python: floats.double()
  return out;
}

// ---------------------------------------------------------------------------------------------
// Indexing and slicing

IndexingExamples indexing_examples(const torch::Tensor& x, double threshold) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) >= 3,
              "indexing_examples expects a 2-D tensor with at least 3 rows, got shape ", x.sizes(),
              "; reshape it first, e.g. torch::arange(12).reshape({3, 4})");
  IndexingExamples out;
  out.row = x.index({1});                                    // Python: x[1]
  out.column = x.index({Slice(), 0});                        // Python: x[:, 0]
  out.block = x.index({Slice(1, 3), Slice(None, None, 2)});  // Python: x[1:3, ::2]
  out.last = x.index({Ellipsis, -1});                        // Python: x[..., -1]
  out.unsqueezed = x.index({None});                          // Python: x[None]
  out.masked = x.index({x > threshold});                     // Python: x[x > threshold]

  // index() returns views or copies; index_put_() writes into the tensor (Python: x[...] = v).
  // clone() first so that the caller's tensor stays as it was.
  out.edited = x.clone();
  out.edited.index_put_({Slice(), 0}, 0);               // Python: y[:, 0] = 0
  out.edited.index_put_({out.edited > threshold}, -1);  // Python: y[y > t] = -1
  return out;
}

// ---------------------------------------------------------------------------------------------
// Broadcasting

torch::Tensor pairwise_distances(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1),
              "pairwise_distances expects (N, D) and (M, D) with the same D, got ", a.sizes(),
              " and ", b.sizes(), "; use .reshape({-1, D}) to make a list of D-dim points");
  // Python: (a[:, None, :] - b[None, :, :]).pow(2).sum(-1).sqrt()
  const torch::Tensor diff = a.index({Slice(), None, Slice()}) -  // (N, 1, D)
                             b.index({None, Slice(), Slice()});   // (1, M, D) -> (N, M, D)
  return diff.pow(2).sum(/*dim=*/-1).sqrt();                      // (N, M)
}

torch::Tensor normalize_rows(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2, "normalize_rows expects (N, D), got shape ", x.sizes());
  // keepdim=true keeps (N, 1) instead of (N,), so the division broadcasts along each row.
  const torch::Tensor length = x.norm(/*p=*/2, /*dim=*/{1}, /*keepdim=*/true);  // (N, 1)
  return x / length.clamp_min(1e-12);  // (N, D) / (N, 1) -> (N, D); a zero row stays zero
}

torch::Tensor gradient_image(int64_t height, int64_t width) {
  TORCH_CHECK(height >= 2 && width >= 2, "gradient_image needs at least 2x2 pixels, got ", height,
              "x", width);
  const torch::Tensor across = torch::linspace(0, 1, width).reshape({1, width});  // (1, W)
  const torch::Tensor down = torch::linspace(0, 1, height).reshape({height, 1});  // (H, 1)
  const torch::Tensor red = across.expand({height, width});  // a view: no copy   (H, W)
  const torch::Tensor green = down.expand({height, width});  // (H, W)
  const torch::Tensor blue = across * down;                  // (1, W) * (H, 1) -> (H, W)
  return torch::stack({red, green, blue}, /*dim=*/0);        // (3, H, W)
}

// ---------------------------------------------------------------------------------------------
// Reductions

ReductionSummary summarize(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.is_floating_point(),
              "summarize expects a 2-D floating point tensor, got ", describe(x),
              "; convert with .to(torch::kFloat32)");
  ReductionSummary out;
  out.total = x.sum();                        // Python: x.sum()
  out.column_sums = x.sum(/*dim=*/0);         // Python: x.sum(0)
  out.row_means = x.mean(/*dim=*/{1});        // Python: x.mean(1)
  auto [values, indices] = x.max(/*dim=*/1);  // Python: values, indices = x.max(1)
  out.row_max = values;
  out.row_argmax = indices;                                  // the same as x.argmax(1)
  out.centered = x - x.mean(/*dim=*/{1}, /*keepdim=*/true);  // (R, C) - (R, 1)
  return out;
}

// ---------------------------------------------------------------------------------------------
// In-place operations

torch::Tensor& scale_shift_clamp_(torch::Tensor& x, double scale, double shift, double low,
                                  double high) {
  // Each op ending in _ writes into x and returns x itself, so they chain without new tensors.
  x.mul_(scale).add_(shift).clamp_(low, high);  // Python: x.mul_(s).add_(b).clamp_(lo, hi)
  return x;
}

// ---------------------------------------------------------------------------------------------
// std::vector and cv::Mat

torch::Tensor from_vector(const std::vector<float>& values, const std::vector<int64_t>& shape) {
  const int64_t count =
      std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
  if (count != static_cast<int64_t>(values.size())) {
    throw std::invalid_argument(fmt::format(
        "from_vector: shape [{}] holds {} values but the vector has {}; pass a matching shape",
        fmt::join(shape, ", "), count, values.size()));
  }
  // from_blob only points at the vector's memory (it takes void*, hence the const_cast; nothing
  // is written). clone() copies it, so the tensor stays valid after the vector is gone.
  return torch::from_blob(const_cast<float*>(values.data()), shape, torch::kFloat32).clone();
}

std::vector<float> to_vector(const torch::Tensor& tensor) {
  // contiguous(): row-major order with no gaps, which a plain pointer walk needs.
  const torch::Tensor flat = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const float* begin = flat.data_ptr<float>();
  return std::vector<float>(begin, begin + flat.numel());
}

torch::Tensor view_mat(const cv::Mat& mat) {
  TORCH_CHECK(!mat.empty() && mat.depth() == CV_8U,
              "view_mat expects a non-empty 8-bit cv::Mat (CV_8UC1/3/4); convert with "
              "mat.convertTo(out, CV_8U)");
  const int64_t channels = mat.channels();
  // Strides in elements: the next row is mat.step bytes away (more than cols*channels when the
  // Mat is a crop of a bigger image), the next pixel `channels` away, the next channel 1.
  return torch::from_blob(mat.data, {mat.rows, mat.cols, channels},
                          {static_cast<int64_t>(mat.step[0]), channels, 1}, torch::kUInt8);
}

}  // namespace course::tensors
