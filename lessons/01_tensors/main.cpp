// Lesson 01: tensors, the one data type of LibTorch.
//
// What it teaches, in nine short steps that print small tensors:
//   1. creating tensors (zeros, ones, arange, linspace, full, eye, rand with a seed, std::vector)
//   2. dtypes and conversion          3. devices (.to(device); CPU here, CUDA when there is a GPU)
//   4. shape: view, reshape, permute, contiguous
//   5. indexing and slicing with torch::indexing, next to the Python syntax
//   6. broadcasting (pairwise distances)    7. reductions along dimensions, keepdim
//   8. in-place ops (add_, mul_, clamp_)    9. from_blob, std::vector and cv::Mat
// What it leaves out on purpose: autograd (lesson 02), modules and training (later lessons).
//
// Run: ./course run 01      (or build/<preset>/bin/01_tensors [--device cpu|cuda] [--out DIR])
// Python twin: python lessons/01_tensors/reference.py
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include <vector>

#include "course/flags.h"
#include "course/image.h"
#include "course/lesson.h"
#include "tensors.h"

using course::tensors::describe;
using course::tensors::show;
using torch::indexing::Ellipsis;
using torch::indexing::None;
using torch::indexing::Slice;

// The sizes of the example tensors. Small on purpose: every value is printed.
struct Config {
  int64_t rows = 3;  // the example matrix x is rows x cols, filled with 0, 1, 2, ...
  int64_t cols = 4;
  double threshold = 5;       // for the boolean mask x > threshold
  int64_t image_height = 48;  // the gradient image saved as PNG
  int64_t image_width = 64;
};

static void banner(const char* title) {
  fmt::print("\n-- {}\n", title);
}

int main(int argc, char** argv) {
  try {
    course::Flags flags("01_tensors", "Tensors: creation, dtypes, shapes, indexing, broadcasting");
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);
    const Config config;

    // ============================ 1. Creating tensors ============================
    banner("1. creating tensors");
    show("zeros({2, 3})", torch::zeros({2, 3}));  // Python: torch.zeros(2, 3)
    show("ones({2})", torch::ones({2}));
    show("arange(0, 10, 3)", torch::arange(0, 10, 3));  // int64: integer arguments
    show("linspace(0, 1, 5)", torch::linspace(/*start=*/0, /*end=*/1, /*steps=*/5));
    show("full({2, 2}, 7.5)", torch::full({2, 2}, 7.5));
    show("eye(3)", torch::eye(3));
    // Random numbers come from a generator; the same seed gives the same numbers, in Python too.
    torch::manual_seed(options.seed);
    const torch::Tensor first = torch::rand({2, 3});  // uniform in [0, 1)
    torch::manual_seed(options.seed);
    const torch::Tensor again = torch::rand({2, 3});
    show(fmt::format("rand({{2, 3}}) after manual_seed({})", options.seed), first);
    fmt::print("  same seed, same numbers: {}\n", first.equal(again));
    const std::vector<float> numbers = {1.5F, 2.5F, 3.5F};
    show("tensor(std::vector<float>)", torch::tensor(numbers));  // copies the values

    // ============================ 2. dtypes and conversion ============================
    banner("2. dtypes and conversion");
    const torch::Tensor ints = torch::arange(-3, 4);  // int64
    const torch::Tensor floats = torch::tensor({-1.7, -0.5, 0.5, 2.5}, torch::kFloat32);
    const auto dtypes = course::tensors::dtype_examples(ints, floats);
    show("ints", ints);
    show("floats", floats);
    show("floats.to(torch::kInt64)", dtypes.truncated);     // toward zero: -1.7 -> -1
    show("ints + 0.5", dtypes.promoted);                    // int64 meets a float -> float32
    show("ints / 2", dtypes.divided);                       // true division, like Python 3
    show("div(ints, 2, \"floor\")", dtypes.floor_divided);  // Python: ints // 2
    show("floats.to(torch::kFloat64)", dtypes.as_double);

    // ============================ 3. Devices ============================
    banner("3. devices");
    // Python: y = x.to(device). A copy on the GPU when device is cuda; x itself when it is cpu.
    const torch::Tensor on_device = floats.to(lesson.device);
    fmt::print("  floats.to({}) lives on {}\n", lesson.device.str(), on_device.device().str());
    // Create directly on the device: Python torch.zeros(2, 3, device=device)
    const auto options_on_device =
        torch::TensorOptions().dtype(torch::kFloat32).device(lesson.device);
    fmt::print("  zeros(..., TensorOptions().device(...)) -> {}\n",
               torch::zeros({2, 3}, options_on_device).device().str());
    if (!torch::cuda::is_available()) {
      fmt::print("  no CUDA GPU here; with one, --device cuda puts tensors on cuda:0\n");
    }
    // Ops need all their tensors on one device; printing and .item() copy back to the CPU.
    fmt::print("  back on the CPU: {}\n", on_device.to(torch::kCPU).device().str());

    // ============================ 4. Shape: view, reshape, permute ============================
    banner("4. shape: view, reshape, permute, contiguous");
    const torch::Tensor x =
        torch::arange(config.rows * config.cols).reshape({config.rows, config.cols});
    show(fmt::format("x = arange({}).reshape({{{}, {}}})", x.numel(), config.rows, config.cols), x);
    fmt::print("  x.sizes() = [{}], x.size(0) = {}, x.dim() = {}, x.numel() = {}\n",
               fmt::join(x.sizes().vec(), ", "), x.size(0), x.dim(), x.numel());
    // view: the same memory read with a new shape. Same shape as the permute below, other order!
    show(fmt::format("x.view({{{}, {}}})", config.cols, config.rows),
         x.view({config.cols, config.rows}));
    show("x.view({-1})", x.view({-1}));          // -1: "work it out"
    const torch::Tensor xt = x.permute({1, 0});  // (4, 3): swaps the strides, moves nothing
    show("x.permute({1, 0})", xt);
    fmt::print("  x.permute({{1, 0}}).is_contiguous() = {}\n", xt.is_contiguous());
    try {
      xt.view({-1});  // view needs memory in row-major order
    } catch (const c10::Error&) {
      fmt::print("  x.permute({{1, 0}}).view({{-1}}) fails: use reshape or .contiguous()\n");
    }
    show("x.permute({1, 0}).reshape({-1})", xt.reshape({-1}));  // copies when it must
    fmt::print("  after .contiguous(): is_contiguous() = {}\n", xt.contiguous().is_contiguous());

    // ============================ 5. Indexing and slicing ============================
    banner("5. indexing and slicing (Python syntax | C++ torch::indexing)");
    const auto picked = course::tensors::indexing_examples(x, config.threshold);
    show("x[1]           | x.index({1})", picked.row);
    show("x[:, 0]        | x.index({Slice(), 0})", picked.column);
    show("x[1:3, ::2]    | x.index({Slice(1, 3), Slice(None, None, 2)})", picked.block);
    show("x[..., -1]     | x.index({Ellipsis, -1})", picked.last);
    fmt::print("  x[None]        | x.index({{None}})  -> {}\n", describe(picked.unsqueezed));
    show(fmt::format("x[x > {0}]       | x.index({{x > {0}}})", config.threshold), picked.masked);
    show(fmt::format("y[:, 0] = 0; y[y > {}] = -1 | y.index_put_(...)", config.threshold),
         picked.edited);
    fmt::print("  x[1, 2] = {}    | x.index({{1, 2}}).item<int64_t>()\n",
               x.index({1, 2}).item<int64_t>());
    fmt::print("  x[:, None] -> {}   x[..., None] -> {}\n",
               describe(x.index({Slice(), None})),    // (3, 1, 4)
               describe(x.index({Ellipsis, None})));  // (3, 4, 1)
    // A slice is a view: an in-place op on it writes into the tensor it came from.
    torch::Tensor y = x.clone();
    y.index({Slice(), Slice(1, None, 2)}).mul_(10);  // Python: y[:, 1::2] *= 10
    show("y = x.clone(); y[:, 1::2] *= 10 | y.index({Slice(), Slice(1, None, 2)}).mul_(10)", y);

    // ============================ 6. Broadcasting ============================
    banner("6. broadcasting");
    // Shapes are compared from the right; two sizes fit when they are equal or one of them is 1,
    // and a missing dimension counts as 1. (3, 1) + (1, 4) -> (3, 4).
    show("arange(3).reshape({3, 1}) * 10 + arange(4)",
         torch::arange(3).reshape({3, 1}) * 10 + torch::arange(4));
    const torch::Tensor points =
        torch::tensor({0.0F, 0.0F, 3.0F, 4.0F, 6.0F, 8.0F}).reshape({3, 2});
    const torch::Tensor centers = torch::tensor({0.0F, 0.0F, 3.0F, 0.0F}).reshape({2, 2});
    show("points (N=3, D=2)", points);
    show("centers (M=2, D=2)", centers);
    show("pairwise_distances(points, centers)  (3, 1, 2) - (1, 2, 2)",
         course::tensors::pairwise_distances(points, centers));
    show("normalize_rows(points)", course::tensors::normalize_rows(points));

    // ============================ 7. Reductions ============================
    banner("7. reductions");
    const torch::Tensor m = torch::tensor({3.0F, 1.0F, 2.0F, 0.5F, 4.0F, 1.5F}).reshape({2, 3});
    const auto summary = course::tensors::summarize(m);
    show("m", m);
    show("m.sum()", summary.total);
    show("m.sum(0)        (over rows)", summary.column_sums);
    show("m.mean(1)       (over columns)", summary.row_means);
    show("m.max(1) values", summary.row_max);
    show("m.max(1) indices = m.argmax(1)", summary.row_argmax);
    show("m - m.mean(1, keepdim=true)   (2, 3) - (2, 1)", summary.centered);
    fmt::print("  m.sum().item<float>() = {}\n", summary.total.item<float>());

    // ============================ 8. In-place ops ============================
    banner("8. in-place ops: a trailing _ changes the tensor itself");
    torch::Tensor v = torch::linspace(-1, 1, 5);
    const void* memory_before = v.data_ptr();
    show("v", v);
    show("v * 2 (a new tensor; v unchanged)", v * 2);
    course::tensors::scale_shift_clamp_(v, /*scale=*/2, /*shift=*/0.5, /*low=*/0, /*high=*/2);
    show("v.mul_(2).add_(0.5).clamp_(0, 2)", v);
    fmt::print("  same memory as before: {}\n", v.data_ptr() == memory_before);

    // ============================ 9. from_blob, std::vector, cv::Mat ============================
    banner("9. from_blob, std::vector and cv::Mat");
    std::vector<float> buffer = {1, 2, 3, 4, 5, 6};
    // from_blob points at memory it does not own: no copy, and the vector must outlive it.
    const torch::Tensor borrowed = torch::from_blob(buffer.data(), {2, 3}, torch::kFloat32);
    const torch::Tensor owned = borrowed.clone();  // its own memory
    buffer[0] = 100;
    show("from_blob(buffer) after buffer[0] = 100", borrowed);
    show("from_blob(buffer).clone()", owned);
    const std::vector<float> round_trip = course::tensors::to_vector(owned);
    fmt::print("  to_vector(owned) = [{}]\n", fmt::join(round_trip, ", "));

    const torch::Tensor image =
        course::tensors::gradient_image(config.image_height, config.image_width);
    cv::Mat mat = course::to_mat(image);  // a copy: uint8, (H, W, 3) in BGR order
    fmt::print("  gradient_image {} -> cv::Mat {}x{}, {} channels\n", describe(image), mat.rows,
               mat.cols, mat.channels());
    const torch::Tensor pixels = course::tensors::view_mat(mat);  // raw from_blob: no copy
    mat.at<cv::Vec3b>(0, 0)[0] = 7;                               // change the Mat ...
    fmt::print("  view_mat(mat) {} sees the change: pixel (0, 0) = [{}]\n", describe(pixels),
               fmt::join(course::tensors::to_vector(pixels[0][0]), ", "));
    const auto png = lesson.out_dir / "gradient.png";
    course::save_png(image, png);
    const torch::Tensor loaded = course::from_mat(cv::imread(png.string()));  // (3, H, W) uint8
    const torch::Tensor expected = (image * 255).round().to(torch::kUInt8);
    fmt::print("  wrote {}; read back {}, equal to (image * 255).round(): {}\n", png.string(),
               describe(loaded), loaded.equal(expected));
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
