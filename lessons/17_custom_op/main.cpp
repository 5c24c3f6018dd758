// 17_custom_op: an operator of your own, registered with PyTorch's dispatcher, on CPU and CUDA.
//
// The operator is SwiGLU's gate, course::swiglu(a, b) = silu(a) * b, the feed-forward block of
// LLaMA-style transformers. Composed from ATen ops it is two kernels, silu(a) then * b, and the
// intermediate silu(a) goes out to memory and back: 5 tensor-sized trips (read a, write t, read
// t, read b, write out) where one fused loop needs 3. Memory, not arithmetic, bounds such ops,
// so fusing them is the speed-up. swiglu_op.cpp registers it (TORCH_LIBRARY: the schema;
// TORCH_LIBRARY_IMPL: CPU kernels with at::vec + at::parallel_for, a CUDA kernel, autograd) in a
// shared library, course_ops17, that this program links and that Python loads (reference.py).
// This file is the user's side: 1. calling it through the dispatcher, 2. its refusals, 3. its
// gradient against central differences, 4. its speed against the composed ops, 5. training with it.
// What it leaves out on purpose: broadcasting, half precision, torch.compile (a fake kernel), and
// the stable-ABI build of the same operator (README).
//
// Run:  ./course run 17        python lessons/17_custom_op/reference.py --check-library <.so>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "course/device.h"
#include "course/flags.h"
#include "course/lesson.h"
#include "course/show.h"
#include "course/timer.h"
#include "swiglu.h"

struct Config {
  std::vector<int64_t> sizes{1 << 12, 1 << 16, 1 << 20, 1 << 23};  // elements per tensor benched
  int64_t repeats = 31;  // timed calls per size; the median is printed
  int64_t steps = 300;   // training steps of the small SwiGLU network
  int64_t hidden = 64;   // its hidden width
  double lr = 1e-2;      // Adam's learning rate
};

// ==== 1. The operator through the dispatcher =====================================================
// The dispatcher finds an operator by name ("namespace::name", overload ""), checks the C++
// signature against the schema once (typed), and call() picks the kernel from the tensors' keys:
// Autograd first when a tensor requires grad, then CPU or CUDA. Python: torch.ops.course.swiglu.
at::Tensor swiglu_via_dispatcher(const at::Tensor& a, const at::Tensor& b) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("course::swiglu", /*overload_name=*/"")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  return op.call(a, b);
}

// The same function composed from ATen ops: what the fused kernel must equal.
torch::Tensor swiglu_composed(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::silu(a) * b;  // Python: F.silu(a) * b
}

// Which kernels the dispatcher would run for course::swiglu, e.g. "CPU yes, CUDA yes, AutogradCPU
// yes" (the Autograd registration covers AutogradCPU, AutogradCUDA, ...).
std::string registered_kernels() {
  const auto handle = c10::Dispatcher::singleton().findSchemaOrThrow("course::swiglu", "");
  std::string text;
  for (const auto key :
       {c10::DispatchKey::CPU, c10::DispatchKey::CUDA, c10::DispatchKey::AutogradCPU}) {
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", c10::toString(key),
                        handle.hasComputedKernelForDispatchKey(key) ? "yes" : "no");
  }
  return text;
}

// ==== 3. Gradients: autograd against central differences =========================================
// d f / d x_i ~ (f(x + h e_i) - f(x - h e_i)) / 2h, one element at a time, in float64 (in float32
// rounding would drown the difference). Python: torch.autograd.gradcheck does the same.
torch::Tensor numeric_gradient(const std::function<double(const torch::Tensor&)>& f,
                               const torch::Tensor& x, double step) {
  torch::Tensor gradient = torch::zeros_like(x);
  for (int64_t i = 0; i < x.numel(); ++i) {
    torch::Tensor plus = x.clone(), minus = x.clone();
    plus.view(-1)[i] += step;
    minus.view(-1)[i] -= step;
    gradient.view(-1)[i] = (f(plus) - f(minus)) / (2 * step);
  }
  return gradient;
}

struct GradientErrors {
  double a;  // largest |autograd - numeric| over d f / d a
  double b;  // and over d f / d b
};
// f(a, b) = sum(swiglu(a, b) * weights): the weights make every element's gradient different.
GradientErrors check_gradients(const torch::Tensor& a, const torch::Tensor& b,
                               const torch::Tensor& weights, double step) {
  auto f = [&](const torch::Tensor& x, const torch::Tensor& y) {
    return (course::ops17::swiglu(x, y) * weights).sum();
  };
  const torch::Tensor x = a.detach().clone().requires_grad_(true);
  const torch::Tensor y = b.detach().clone().requires_grad_(true);
  f(x, y).backward();  // the Autograd kernel's backward: course::swiglu_backward
  const torch::Tensor numeric_a =
      numeric_gradient([&](const torch::Tensor& t) { return f(t, b).item<double>(); }, a, step);
  const torch::Tensor numeric_b =
      numeric_gradient([&](const torch::Tensor& t) { return f(a, t).item<double>(); }, b, step);
  return {(x.grad() - numeric_a).abs().max().item<double>(),
          (y.grad() - numeric_b).abs().max().item<double>()};
}

// ==== 4. Speed: the fused kernel against the composed ops ========================================
// Median seconds of `repeats` calls of fn, after one warm-up call; waits for a GPU to finish.
template <typename Fn>
double median_seconds(Fn&& fn, int64_t repeats, const torch::Device& device) {
  fn();
  course::synchronize(device);
  std::vector<double> times;
  for (int64_t r = 0; r < repeats; ++r) {
    const course::Stopwatch watch;
    fn();
    course::synchronize(device);
    times.push_back(watch.seconds());
  }
  std::nth_element(times.begin(), times.begin() + repeats / 2, times.end());
  return times[repeats / 2];
}

// Tensor-sized trips to memory, 4 bytes an element in float32. Composed: silu reads a and writes
// t, the product reads t and b and writes out (5). Fused: reads a and b, writes out (3).
constexpr double kComposedBytes = 5 * 4.0;
constexpr double kFusedBytes = 3 * 4.0;

struct SpeedRow {
  int64_t elements;
  double composed;           // median seconds of silu(a) * b
  double fused;              // median seconds of course::swiglu(a, b)
  double training_speed_up;  // forward + backward: composed time / fused time
};

SpeedRow measure_speed(int64_t elements, int64_t repeats, const torch::Device& device) {
  const torch::Tensor a = torch::randn({elements}, torch::device(device));
  const torch::Tensor b = torch::randn({elements}, torch::device(device));
  SpeedRow row{elements, 0, 0, 0};
  {
    const torch::NoGradGuard no_grad;
    row.composed = median_seconds([&] { swiglu_composed(a, b); }, repeats, device);
    row.fused = median_seconds([&] { swiglu_via_dispatcher(a, b); }, repeats, device);
  }
  const torch::Tensor x = a.clone().requires_grad_(true), y = b.clone().requires_grad_(true);
  const torch::Tensor grad = torch::ones_like(a);
  // autograd::grad returns the gradients instead of adding them into x.grad(): no extra pass.
  auto step_seconds = [&](auto op) {
    return median_seconds(
        [&] {
          torch::autograd::grad({op(x, y)}, {x, y}, {grad});
        },
        repeats, device);
  };
  row.training_speed_up = step_seconds(swiglu_composed) / step_seconds(swiglu_via_dispatcher);
  return row;
}

void print_speed_table(const std::vector<SpeedRow>& rows) {
  fmt::print("  {:>10} | {:>11} {:>7} | {:>11} {:>7} | {:>8} | {:>10}\n", "elements", "composed ms",
             "GB/s", "fused ms", "GB/s", "speed-up", "fwd+bwd");
  for (const SpeedRow& row : rows) {
    const auto n = static_cast<double>(row.elements);
    fmt::print("  {:>10} | {:>11.4f} {:>7.2f} | {:>11.4f} {:>7.2f} | {:>7.2f}x | {:>9.2f}x\n",
               row.elements, row.composed * 1e3, n * kComposedBytes / row.composed / 1e9,
               row.fused * 1e3, n * kFusedBytes / row.fused / 1e9, row.composed / row.fused,
               row.training_speed_up);
  }
}

// ==== 5. Training with it: a small SwiGLU network fits sin(2x) ===================================
// down(swiglu(gate(x), up(x))): the feed-forward block of LLaMA, here on one input feature.
// N = points, H = hidden width.
class SwiGLUNetImpl : public torch::nn::Module {
 public:
  SwiGLUNetImpl(int64_t hidden, bool fused)
      : gate(register_module("gate", torch::nn::Linear(1, hidden))),
        up(register_module("up", torch::nn::Linear(1, hidden))),
        down(register_module("down", torch::nn::Linear(hidden, 1))),
        fused_(fused) {}

  torch::Tensor forward(const torch::Tensor& x) {                               // x: (N, 1)
    const torch::Tensor g = gate(x), u = up(x);                                 // (N, H) each
    return down(fused_ ? swiglu_via_dispatcher(g, u) : swiglu_composed(g, u));  // (N, 1)
  }

  torch::nn::Linear gate, up, down;

 private:
  bool fused_;  // course::swiglu, or silu(g) * u composed
};
TORCH_MODULE(SwiGLUNet);

struct TrainResult {
  double first_loss;  // mean squared error before the first step
  double last_loss;   // and after the last
  double seconds;
};

TrainResult train(SwiGLUNet net, const torch::Tensor& x, const torch::Tensor& y,
                  const Config& config) {
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(config.lr));
  const course::Stopwatch watch;
  TrainResult result{0, 0, 0};
  for (int64_t step = 0; step < config.steps; ++step) {
    optimizer.zero_grad();
    const torch::Tensor loss = torch::mse_loss(net->forward(x), y);
    loss.backward();  // through SwiGLUFunction::backward when fused
    optimizer.step();
    if (step == 0) result.first_loss = loss.item<double>();  // log points only: no .item() a step
  }
  result.last_loss = torch::mse_loss(net->forward(x), y).item<double>();
  TORCH_CHECK(std::isfinite(result.last_loss), "the loss is ", result.last_loss,
              ": lower --lr and run again");
  result.seconds = watch.seconds();
  return result;
}

#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("17_custom_op", "A fused SwiGLU operator: dispatcher, CPU, CUDA, autograd");
    flags.add("--sizes", config.sizes, "Elements per tensor in the speed table", {1, 1 << 28});
    flags.add("--repeats", config.repeats, "Timed calls per size (the median is printed)",
              {1, 1000});
    flags.add("--steps", config.steps, "Training steps of the SwiGLU network", {1, 100000});
    flags.add("--hidden", config.hidden, "Hidden width of the SwiGLU network", {1, 4096});
    flags.add("--lr", config.lr, "Adam's learning rate", {1e-6, 1.0});
    const course::Options& options = flags.parse(argc, argv);
    if (options.smoke) {
      config.sizes = {1 << 12, 1 << 16, 1 << 20};
      config.repeats = 5;
      config.steps = 60;
    }
    const course::Lesson lesson = course::begin_lesson(flags);
    const auto on_device = torch::device(lesson.device);

    fmt::print("\n-- 1. course::swiglu(a, b) = silu(a) * b through the dispatcher\n");
    fmt::print("  schema: {}\n",
               c10::toString(
                   c10::Dispatcher::singleton().findSchemaOrThrow("course::swiglu", "").schema()));
    fmt::print("  kernels: {}; CPU float32 loop: {}, {} threads\n", registered_kernels(),
               course::ops17::cpu_kernel_name(), course::ops17::cpu_threads_used(1 << 20));
    const torch::Tensor a = torch::linspace(-4, 4, /*steps=*/8, on_device);
    const torch::Tensor b = torch::cos(torch::arange(8, on_device));
    const torch::Tensor fused = swiglu_via_dispatcher(a, b);
    fmt::print("  a                      {}\n", course::format_values(a));
    fmt::print("  b                      {}\n", course::format_values(b));
    fmt::print("  course::swiglu(a, b)   {}\n", course::format_values(fused));
    fmt::print("  torch::silu(a) * b     {}\n", course::format_values(swiglu_composed(a, b)));
    fmt::print("  largest difference     {:.2g}\n",
               (fused - swiglu_composed(a, b)).abs().max().item<double>());

    fmt::print("\n-- 2. What it refuses, and the message it gives\n");
    for (const auto& [what, call] : std::vector<std::pair<std::string, std::function<void()>>>{
             {"int64", [&] { swiglu_via_dispatcher(a.to(torch::kLong), b.to(torch::kLong)); }},
             {"shapes",
              [&] { swiglu_via_dispatcher(a, b.index({torch::indexing::Slice(0, 4)})); }}}) {
      try {
        call();
        fmt::print("  {}: accepted?!\n", what);
      } catch (const c10::Error& e) {
        fmt::print("  {}: {}\n", what, e.what_without_backtrace());
      }
    }

    fmt::print("\n-- 3. Gradients in float64: autograd against central differences\n");
    const auto f64 = torch::dtype(torch::kDouble).device(lesson.device);
    const torch::Tensor ga = torch::linspace(-3, 3, /*steps=*/12, f64).reshape({3, 4});
    const torch::Tensor gb = torch::sin(torch::arange(12, f64)).reshape({3, 4});
    const GradientErrors errors = check_gradients(ga, gb, torch::cos(ga), /*step=*/1e-6);
    fmt::print("  largest |autograd - numeric|: d/da {:.1e}, d/db {:.1e}\n", errors.a, errors.b);

    fmt::print("\n-- 4. Speed on {} (float32, median of {} calls; GB/s = bytes moved / time)\n",
               lesson.device.str(), config.repeats);
    std::vector<SpeedRow> rows;
    for (const int64_t n : config.sizes)
      rows.push_back(measure_speed(n, config.repeats, lesson.device));
    print_speed_table(rows);

    fmt::print("\n-- 5. Training a SwiGLU network on sin(2x), fused and composed, same start\n");
    const torch::Tensor x =
        torch::linspace(-3, 3, /*steps=*/512, on_device).unsqueeze(1);  // (N, 1)
    const torch::Tensor y = torch::sin(2 * x);                          // (N, 1)
    std::vector<TrainResult> results;
    for (const bool use_fused : {true, false}) {
      torch::manual_seed(options.seed);  // the same initial weights for both
      SwiGLUNet net(config.hidden, use_fused);
      net->to(lesson.device);
      const TrainResult result = train(net, x, y, config);
      fmt::print("  {:<8} loss {:.4f} -> {:.5f} in {} steps, {:.2f} s\n",
                 use_fused ? "fused" : "composed", result.first_loss, result.last_loss,
                 config.steps, result.seconds);
      results.push_back(result);
    }
    course::print_result("17_custom_op", {{"final_loss", results[0].last_loss},
                                          {"speed_up", rows.back().composed / rows.back().fused}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
