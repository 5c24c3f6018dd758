// 01_tensors: tensors, the one data type of LibTorch, each operation next to its Python spelling.
//
// What it teaches, in nine sections of small examples: 1. creating tensors (a seed gives Python's
// random numbers), 2. dtypes, 3. devices, 4. view, reshape, permute, 5. indexing with
// torch::indexing, 6. broadcasting, 7. reductions, 8. in-place ops, 9. from_blob and cv::Mat.
// Each is EXAMPLE("python", c++ expression): the program prints both spellings and the value;
// reference.py evaluates the same Python text, and test.cpp checks each value against Python's.
// What it leaves out on purpose: autograd (lesson 02) and modules (lesson 03).
//
// Run:  ./course run 01        (-- --device cuda on a GPU); python lessons/01_tensors/reference.py
#include <fmt/format.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include <string>
#include <utility>
#include <vector>

#include "course/flags.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/show.h"

using torch::indexing::Ellipsis;  // Python: ...
using torch::indexing::None;      // Python: None (a new dimension of size 1)
using torch::indexing::Slice;     // Python: start:stop:step

// ==== An example: a Python expression, its C++ twin, and the value ===============================
struct Example {
  std::string python;   // what reference.py evaluates, e.g. "x[:, 0]"
  std::string cpp;      // the C++ expression that computed `value`, as text
  torch::Tensor value;  // a copy of the result, taken when the example ran
  bool is_tensor;       // false: a number, a bool or a shape, kept as Python's torch.tensor(value)
};
Example make_example(std::string python, std::string cpp, const torch::Tensor& result) {
  return {std::move(python), std::move(cpp), result.clone(), /*is_tensor=*/true};
}
template <typename T>  // int64_t, float, bool, x.sizes(), std::vector<float>
Example make_example(std::string python, std::string cpp, const T& result) {
  return {std::move(python), std::move(cpp), torch::tensor(result), /*is_tensor=*/false};
}
// EXAMPLE("x[:, 0]", x.index({Slice(), 0})): the C++ text is the expression itself (#__VA_ARGS__),
// so the label cannot drift from the code; the Python text is what reference.py evaluates.
#define EXAMPLE(python, ...) make_example(python, #__VA_ARGS__, (__VA_ARGS__))

// ==== 1. Creating tensors ========================================================================
std::vector<Example> creating() {
  const std::vector<float> numbers = {1.5F, 2.5F, 3.5F};
  return {EXAMPLE("torch.zeros(2, 3)", torch::zeros({2, 3})),  // float32 unless told otherwise
          EXAMPLE("torch.ones(2)", torch::ones({2})),
          EXAMPLE("torch.arange(0, 10, 3)", torch::arange(0, 10, 3)),  // int64: integer arguments
          EXAMPLE("torch.linspace(0, 1, 5)", torch::linspace(0, 1, /*steps=*/5)),
          EXAMPLE("torch.full((2, 2), 7.5)", torch::full({2, 2}, 7.5)),
          EXAMPLE("torch.eye(3)", torch::eye(3)),
          EXAMPLE("torch.tensor(numbers)", torch::tensor(numbers)),  // copies the values
          EXAMPLE("torch.zeros(2, 3, dtype=torch.float64)",
                  torch::zeros({2, 3}, torch::dtype(torch::kFloat64)))};
}

// Random numbers come from a generator: the same seed gives the same numbers, in Python too.
std::vector<Example> random_numbers(uint64_t seed) {
  torch::manual_seed(seed);                                  // Python: torch.manual_seed(seed)
  return {EXAMPLE("torch.rand(2, 3)", torch::rand({2, 3})),  // uniform in [0, 1)
          EXAMPLE("torch.rand(2)", torch::rand({2}))};       // the stream goes on
}

// ==== 2. dtypes: what happens to numbers when types meet (the same rules as Python) ==============
std::vector<Example> dtypes() {
  const torch::Tensor ints = torch::arange(-3, 4);                         // int64
  const torch::Tensor floats = torch::tensor({-1.7F, -0.5F, 0.5F, 2.5F});  // float32
  return {EXAMPLE("ints", ints),
          EXAMPLE("floats", floats),
          EXAMPLE("floats.to(torch.int64)", floats.to(torch::kInt64)),  // toward zero: -1.7 -> -1
          EXAMPLE("ints + 0.5", ints + 0.5),                            // int64 meets a float
          EXAMPLE("ints / 2", ints / 2),                                // true division: float32
          EXAMPLE("ints // 2", torch::div(ints, 2, /*rounding_mode=*/"floor")),  // C++ has no //
          EXAMPLE("floats.double()", floats.to(torch::kFloat64)),
          EXAMPLE("ints.sum().item()", ints.sum().item<int64_t>())};  // C++ names the type
}

// ==== 4. Shape: view reads the same memory with a new shape; permute swaps dimensions ============
std::vector<Example> shapes() {
  const torch::Tensor x = torch::arange(12).reshape({3, 4});
  return {EXAMPLE("x", x),
          EXAMPLE("x.shape", x.sizes()),
          EXAMPLE("x.size(0)", x.size(0)),
          EXAMPLE("x.dim()", x.dim()),
          EXAMPLE("x.numel()", x.numel()),
          EXAMPLE("x.view(4, 3)", x.view({4, 3})),  // same shape as the permute below, other order!
          EXAMPLE("x.view(-1)", x.view({-1})),      // -1: "work this size out"
          EXAMPLE("x.permute(1, 0)", x.permute({1, 0})),  // swaps the strides, moves nothing
          EXAMPLE("x.permute(1, 0).is_contiguous()", x.permute({1, 0}).is_contiguous()),
          EXAMPLE("x.permute(1, 0).reshape(-1)", x.permute({1, 0}).reshape({-1})),  // copies
          EXAMPLE("x.unsqueeze(0).shape", x.unsqueeze(0).sizes())};
}

// ==== 5. Indexing: x.index({...}) takes the pieces of Python's x[...], spelled out ==============
std::vector<Example> indexing() {
  const torch::Tensor x = torch::arange(12).reshape({3, 4});
  torch::Tensor y;
  return {EXAMPLE("x[1]", x.index({1})), EXAMPLE("x[1, 2]", x.index({1, 2})),
          EXAMPLE("x[:, 0]", x.index({Slice(), 0})),
          EXAMPLE("x[1:3, ::2]", x.index({Slice(1, 3), Slice(None, None, 2)})),
          EXAMPLE("x[..., -1]", x.index({Ellipsis, -1})),
          EXAMPLE("x[None].shape", x.index({None}).sizes()),
          EXAMPLE("x[:, None].shape", x.index({Slice(), None}).sizes()),
          EXAMPLE("x[x > 5]", x.index({x > 5})),  // a boolean mask: a 1-D copy, in row order
          EXAMPLE("x[torch.tensor([2, 0])]", x.index({torch::tensor({2, 0})})),  // rows 2 and 0
          EXAMPLE("x[1, 2].item()", x.index({1, 2}).item<int64_t>()),
          EXAMPLE("y = x.clone()", y = x.clone()),
          // A slice is a view: an in-place op on it writes into the tensor it came from.
          EXAMPLE("y[:, 1::2].mul_(10)", y.index({Slice(), Slice(1, None, 2)}).mul_(10)),
          EXAMPLE("y", y),
          // Writing: index_put_ is Python's y[...] = value. It returns the tensor it wrote into.
          EXAMPLE("y[:, 0] = 0", y.index_put_({Slice(), 0}, 0)),
          EXAMPLE("y[y > 50] = -1", y.index_put_({y > 50}, -1))};
}

// ==== 6. Broadcasting: sizes compared from the right must be equal, or one of them 1 ============
std::vector<Example> broadcasting() {
  const torch::Tensor points = torch::tensor({{0.0F, 0.0F}, {3.0F, 4.0F}, {6.0F, 8.0F}});  // (N, D)
  const torch::Tensor centers = torch::tensor({{0.0F, 0.0F}, {3.0F, 0.0F}});               // (M, D)
  return {
      EXAMPLE("torch.arange(3).reshape(3, 1) * 10 + torch.arange(4)",  // (3, 1) + (4,) -> (3, 4)
              torch::arange(3).reshape({3, 1}) * 10 + torch::arange(4)),
      EXAMPLE("points", points), EXAMPLE("centers", centers),
      // All N x M distances without a loop: (N, 1, D) - (1, M, D) -> (N, M, D).
      EXAMPLE("(points[:, None] - centers[None]).shape",
              (points.index({Slice(), None}) - centers.index({None})).sizes()),
      EXAMPLE("(points[:, None] - centers[None]).pow(2).sum(-1).sqrt()",
              (points.index({Slice(), None}) - centers.index({None})).pow(2).sum(-1).sqrt()),
      EXAMPLE("torch.cdist(points, centers)", torch::cdist(points, centers)),  // LibTorch's own
      // keepdim=true keeps (N, 1), so each row is divided by its own length; a zero row stays 0.
      EXAMPLE("points / points.norm(dim=1, keepdim=True).clamp_min(1e-12)",
              points / points.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12))};
}

// ==== 7. Reductions: along a dimension, which then disappears (or stays, with keepdim) ==========
std::vector<Example> reductions() {
  const torch::Tensor m = torch::tensor({{3.0F, 1.0F, 2.0F}, {0.5F, 4.0F, 1.5F}});  // (R, C)
  return {EXAMPLE("m", m),
          EXAMPLE("m.sum()", m.sum()),
          EXAMPLE("m.sum(0)", m.sum(0)),
          EXAMPLE("m.mean(1)", m.mean({1})),                  // (R,): dimension 1 disappears
          EXAMPLE("m.max(1).values", std::get<0>(m.max(1))),  // or: auto [values, indices] = ...
          EXAMPLE("m.max(1).indices", std::get<1>(m.max(1))),
          EXAMPLE("m.argmax(1)", m.argmax(1)),
          EXAMPLE("m - m.mean(1, keepdim=True)", m - m.mean({1}, /*keepdim=*/true)),  // (R, 1)
          EXAMPLE("m.sum().item()", m.sum().item<float>())};
}

// ==== 8. In-place ops: a name ending in _ changes the tensor itself and returns it ===============
std::vector<Example> in_place() {
  torch::Tensor v = torch::linspace(-1, 1, 5);
  const void* before = v.data_ptr();
  return {EXAMPLE("v", v),
          EXAMPLE("v * 2", v * 2),  // a new tensor; v is unchanged, as the next line shows
          EXAMPLE("v.mul_(2).add_(0.5).clamp_(0, 2)", v.mul_(2).add_(0.5).clamp_(0, 2)),
          EXAMPLE("v += 0.5", v += 0.5),
          EXAMPLE("v.data_ptr() == before", v.data_ptr() == before)};  // no new memory
}

// ==== 9. Memory you own and memory you borrow ====================================================
std::vector<Example> memory() {
  std::vector<float> buffer = {1, 2, 3, 4, 5, 6};  // Python: array.array("f", [1, 2, ...])
  // from_blob points at memory it does not own: no copy, and the vector must outlive it.
  const torch::Tensor borrowed = torch::from_blob(buffer.data(), {2, 3}, torch::kFloat32);
  const torch::Tensor owned = borrowed.clone();   // its own memory
  buffer[0] = 100;                                // shows through `borrowed` only
  const float* values = owned.data_ptr<float>();  // a pointer walk needs contiguous memory
  return {EXAMPLE("borrowed", borrowed), EXAMPLE("owned", owned),
          EXAMPLE("owned.flatten().tolist()",
                  std::vector<float>(values, values + owned.numel()))};  // a copy
}

// An RGB image (3, H, W) in 0..1 made by broadcasting: red grows left to right (a (1, W) row),
// green top to bottom (an (H, 1) column), blue is their product.
torch::Tensor gradient_image(int64_t height, int64_t width) {
  const torch::Tensor across = torch::linspace(0, 1, width).reshape({1, width});  // (1, W)
  const torch::Tensor down = torch::linspace(0, 1, height).reshape({height, 1});  // (H, 1)
  return torch::stack(
      {across.expand({height, width}), down.expand({height, width}), across * down});  // (3, H, W)
}

// A uint8 tensor (H, W, C) over an 8-bit cv::Mat's pixels, WITHOUT a copy: valid while `mat`
// lives, channels in OpenCV's BGR order. (course::from_mat copies and gives (C, H, W) RGB.)
torch::Tensor view_mat(const cv::Mat& mat) {
  TORCH_CHECK(!mat.empty() && mat.depth() == CV_8U,
              "view_mat expects a non-empty 8-bit cv::Mat; convert with mat.convertTo(out, CV_8U)");
  // Strides in elements: the next row is mat.step bytes away (more than cols * channels when the
  // Mat is a crop of a bigger image), the next pixel `channels` away, the next channel 1.
  const int64_t channels = mat.channels();
  return torch::from_blob(mat.data, {mat.rows, mat.cols, channels},
                          {static_cast<int64_t>(mat.step[0]), channels, 1}, torch::kUInt8);
}

// ==== Printing: "python | c++ = value", or the Python text alone where both read the same ========
void print_examples(const std::string& title, const std::vector<Example>& examples) {
  if (!title.empty()) fmt::print("\n-- {}\n", title);
  for (const Example& example : examples) {
    const std::string label =
        example.python == example.cpp ? example.python : example.python + " | " + example.cpp;
    if (example.is_tensor) {
      course::show(label, example.value);  // values, dtype and shape
    } else {
      fmt::print("  {} = {}\n", label, course::format_values(example.value));
    }
  }
}

#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    course::Flags flags("01_tensors", "Tensors: creation, dtypes, shapes, indexing, broadcasting");
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    print_examples("1. creating tensors (Python | C++)", creating());
    fmt::print("  after torch::manual_seed({}):\n", options.seed);
    const std::vector<Example> first = random_numbers(options.seed);
    print_examples("", first);
    fmt::print("  same seed, same numbers: {}\n",
               first[0].value.equal(random_numbers(options.seed)[0].value));

    print_examples("2. dtypes and conversion", dtypes());

    fmt::print("\n-- 3. devices (Python: x.to(device), x.device, x.cpu())\n");
    // A copy on the GPU when device is cuda; x itself when it is there already. An op needs all
    // its tensors on one device; printing and .item() copy back to the CPU.
    const torch::Tensor on_device = torch::arange(4).to(lesson.device);
    fmt::print("  torch::arange(4).to({}).device() = {}, .cpu().device() = {}\n",
               lesson.device.str(), on_device.device().str(), on_device.cpu().device().str());
    fmt::print("  torch::zeros({{2, 3}}, torch::device({})).device() = {}{}\n", lesson.device.str(),
               torch::zeros({2, 3}, torch::device(lesson.device)).device().str(),
               torch::cuda::is_available() ? "" : " (no CUDA GPU here: --device cuda needs one)");

    print_examples("4. shape: view, reshape, permute, contiguous", shapes());
    try {
      torch::arange(12).reshape({3, 4}).permute({1, 0}).view({-1});  // needs row-major memory
    } catch (const c10::Error&) {
      fmt::print("  x.permute({{1, 0}}).view({{-1}}) fails: use reshape or .contiguous()\n");
    }

    print_examples("5. indexing and slicing with torch::indexing", indexing());
    print_examples("6. broadcasting", broadcasting());
    print_examples("7. reductions", reductions());
    print_examples("8. in-place ops: a trailing _ changes the tensor itself", in_place());
    print_examples("9. from_blob, std::vector and cv::Mat", memory());
    const torch::Tensor image = gradient_image(/*height=*/48, /*width=*/64);  // (3, H, W)
    cv::Mat mat = course::to_mat(image);         // a copy: uint8, (H, W, 3) in BGR order
    const torch::Tensor pixels = view_mat(mat);  // no copy: a window on the Mat's pixels
    mat.at<cv::Vec3b>(0, 0)[0] = 7;              // a change to the Mat shows through the view
    fmt::print("  to_mat(gradient_image {}) -> cv::Mat {}x{}, {} channels\n",
               course::describe(image), mat.rows, mat.cols, mat.channels());
    fmt::print("  view_mat(mat) {}, pixel (0, 0) after mat.at(0, 0)[0] = 7: {}\n",
               course::describe(pixels), course::format_values(pixels[0][0]));
    const auto png = lesson.out_dir / "gradient.png";
    course::save_png(image, png);
    const torch::Tensor loaded = course::from_mat(cv::imread(png.string()));  // (3, H, W) uint8
    fmt::print("  wrote {}; read back {}, equal to (image * 255).round(): {}\n", png.string(),
               course::describe(loaded), loaded.equal((image * 255).round().to(torch::kUInt8)));
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
