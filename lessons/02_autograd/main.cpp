// Lesson 02: autograd, how LibTorch computes gradients for you.
//
// What it teaches, in seven short steps that print small numbers:
//   1. requires_grad, backward(), .grad           2. gradients accumulate: zero_() and reset()
//   3. retain_graph: one graph, two backward calls 4. detach(): a value without its history
//   5. NoGradGuard versus InferenceMode, and one hand-written gradient-descent step
//   6. torch::autograd::grad with create_graph: second and third derivatives (a cubic, tanh)
//   7. a custom torch::autograd::Function (a careful softplus with its own backward), checked
//      with central differences in float64 and a small gradcheck
// What it leaves out on purpose: modules and optimizers (lessons 03 and 04), forward-mode AD,
// hooks, and anomaly mode.
//
// Run: ./course run 02      (or build/<preset>/bin/02_autograd [--point 2] [--eps 1e-6])
// Python twin: python lessons/02_autograd/reference.py
#include <fmt/format.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "autograd.h"
#include "course/flags.h"
#include "course/lesson.h"
#include "course/plot.h"

namespace ag = course::autograd;

struct Config {
  double point = 2.0;     // where step 1 differentiates the cubic, e.g. 2: f'(2) = 7
  int calls = 3;          // backward() calls in a row in step 2
  double eps = 1e-6;      // central-difference step of the numeric gradient (float64)
  int plot_points = 121;  // points on the tanh-derivatives plot
};

// "[7, 14, 21]": the values of a small tensor on one line.
static std::string show(const torch::Tensor& t) {
  const torch::Tensor flat = t.detach().to(torch::kFloat64).flatten();
  std::string text = "[";
  for (int64_t i = 0; i < flat.numel(); ++i) {
    text += fmt::format("{}{:.4g}", i > 0 ? ", " : "", flat[i].item<double>());
  }
  return text + "]";
}

static double max_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// The first line of a LibTorch error, cut to fit one line of output.
static std::string first_line(const std::string& message, size_t width = 90) {
  const std::string line = message.substr(0, message.find('\n'));
  return line.size() > width ? line.substr(0, width) + "..." : line;
}

static void banner(const char* title) {
  fmt::print("\n-- {}\n", title);
}

int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("02_autograd", "Autograd: gradients, higher derivatives, custom Functions");
    flags.app().add_option("--point", config.point, "where step 1 differentiates the cubic");
    flags.app().add_option("--eps", config.eps, "central-difference step, e.g. 1e-6");
    flags.parse(argc, argv);
    if (!(config.eps > 0 && config.eps <= 1e-2)) {
      throw std::invalid_argument(fmt::format(
          "--eps {} is not a usable step: pass a small positive number such as 1e-6", config.eps));
    }
    const course::Lesson lesson = course::begin_lesson(flags);

    // ============================ 1. requires_grad, backward, .grad ============================
    banner("1. requires_grad, backward(), .grad");
    // A leaf tensor that autograd watches. Python: torch.tensor(2.0, requires_grad=True)
    const torch::Tensor x = torch::tensor(config.point, torch::requires_grad());
    const torch::Tensor y = ag::cubic(x);  // every op on x is recorded in a graph
    y.backward();                          // walks the graph back, fills x.grad()
    const double by_hand = 3 * config.point * config.point - 4 * config.point + 3;
    fmt::print("f(x) = x^3 - 2x^2 + 3x - 1 at x = {}: f = {:.4g}\n", config.point,
               y.item<double>());
    fmt::print("x.grad() = {:.4g}   (by hand: 3x^2 - 4x + 3 = {:.4g})\n", x.grad().item<double>(),
               by_hand);
    fmt::print("y.grad_fn: {}, x.is_leaf: {}\n", y.grad_fn()->name(), x.is_leaf());

    // ============================ 2. Gradients accumulate ============================
    banner("2. gradients accumulate: zero_() and reset()");
    const torch::Tensor point = torch::tensor({config.point});  // (1,)
    const ag::Accumulation acc = ag::accumulate(point, config.calls);
    fmt::print("x.grad after {} backward() calls: {}   (each call ADDS f'(x))\n", config.calls,
               show(acc.after_each));
    fmt::print("after x.grad().zero_():        {}   (Python: x.grad.zero_())\n",
               show(acc.after_zero));
    fmt::print("after x.mutable_grad().reset(): defined = {}   (Python: x.grad = None)\n",
               acc.defined_after_reset);
    fmt::print("one more backward():           {}\n", show(acc.after_reset_and_backward));

    // ============================ 3. retain_graph ============================
    banner("3. retain_graph: one graph, two backward() calls");
    try {
      ag::backward_twice(point, /*retain_graph=*/false);
      fmt::print("without retain_graph: no error (unexpected)\n");
    } catch (const c10::Error& error) {
      fmt::print("without retain_graph: error: {}\n", first_line(error.what_without_backtrace()));
    }
    fmt::print("with retain_graph = true: x.grad = {}   (2 f'(x))\n",
               show(ag::backward_twice(point, /*retain_graph=*/true)));

    // ============================ 4. detach ============================
    banner("4. detach(): the same values, no history");
    const torch::Tensor small = torch::tensor({1.0F, 2.0F, 3.0F});
    const ag::DetachGrads detach = ag::detach_grads(small);
    fmt::print("x = {}: d/dx sum(x*x*x) = {}, d/dx sum((x*x).detach() * x) = {}\n", show(small),
               show(detach.full), show(detach.detached));

    // ============================ 5. NoGradGuard versus InferenceMode ============================
    banner("5. NoGradGuard versus InferenceMode");
    const ag::ModeReport modes = ag::compare_modes();
    fmt::print(
        "y = w * 2 under NoGradGuard:   requires_grad {}, is_inference {}, "
        "usable in autograd later: {}\n",
        modes.no_grad_requires_grad, modes.no_grad_is_inference, modes.no_grad_usable_later);
    fmt::print(
        "y = w * 2 under InferenceMode: requires_grad {}, is_inference {}, "
        "usable in autograd later: {}\n",
        modes.inference_requires_grad, modes.inference_is_inference, modes.inference_error.empty());
    fmt::print("  using it later: error: {}\n", first_line(modes.inference_error));
    // Why NoGradGuard exists: updating weights by hand must not be recorded.
    const torch::Tensor line_x = torch::linspace(/*start=*/0, /*end=*/1, /*steps=*/8);
    const torch::Tensor line_y = 2 * line_x + 1 + 0.1 * torch::sin(7 * line_x);
    const ag::LineStep step = ag::line_step(line_x, line_y, /*w=*/0.5, /*b=*/0.0, /*lr=*/0.1);
    fmt::print("one step on y = w x + b: loss {:.6f} dw {:.6f} db {:.6f} -> w {:.6f} b {:.6f}\n",
               step.loss.item<double>(), step.dw.item<double>(), step.db.item<double>(),
               step.w.item<double>(), step.b.item<double>());
    fmt::print("the same update without NoGradGuard: error: {}\n",
               first_line(ag::update_without_guard_error()));

    // ============================ 6. Higher derivatives ============================
    banner("6. torch::autograd::grad(create_graph = true): higher derivatives");
    const torch::Tensor xs = torch::linspace(-2, 2, 9, torch::kFloat64);
    fmt::print("x      = {}\n", show(xs));
    for (int order = 1; order <= 4; ++order) {
      fmt::print("f^({})  = {}\n", order, show(ag::derivative(ag::cubic, xs, order)));
    }
    const torch::Tensor by_hand_second = 6 * xs - 4;
    fmt::print("f'' vs 6x - 4: max error {:.3g}\n",
               max_error(ag::derivative(ag::cubic, xs, 2), by_hand_second));
    // tanh: tanh' = 1 - tanh^2, tanh'' = -2 tanh (1 - tanh^2).
    const torch::Tensor ts = torch::linspace(-3, 3, config.plot_points, torch::kFloat64);
    const torch::Tensor tanh_first = ag::derivative(torch::tanh, ts, 1);
    const torch::Tensor tanh_second = ag::derivative(torch::tanh, ts, 2);
    const torch::Tensor t = ts.tanh();
    fmt::print("tanh' vs 1 - tanh^2: max error {:.3g}; tanh'' vs -2 tanh (1 - tanh^2): {:.3g}\n",
               max_error(tanh_first, 1 - t * t), max_error(tanh_second, -2 * t * (1 - t * t)));
    const auto values = [](const torch::Tensor& v) {
      return std::vector<double>(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
    };
    const auto plot_path = lesson.out_dir / "tanh_derivatives.png";
    course::plot_lines({{"tanh", values(ts), values(t)},
                        {"tanh'", values(ts), values(tanh_first)},
                        {"tanh''", values(ts), values(tanh_second)}},
                       "tanh and its derivatives (autograd)", "x", "y", plot_path);
    fmt::print("plot: {}\n", plot_path.string());

    // ============================ 7. A custom autograd Function ============================
    banner("7. a custom torch::autograd::Function: softplus with its own backward");
    const torch::Tensor sx = torch::tensor({-20.0F, -1.0F, 0.0F, 1.0F, 20.0F, 100.0F});  // float32
    const torch::Tensor naive_grad =
        ag::gradient([](const torch::Tensor& v) { return ag::naive_softplus(v).sum(); }, sx);
    const torch::Tensor custom_grad =
        ag::gradient([](const torch::Tensor& v) { return ag::softplus(v).sum(); }, sx);
    fmt::print("x                  = {}\n", show(sx));
    fmt::print("log(1 + exp(x))    = {}\n", show(ag::naive_softplus(sx)));
    fmt::print("SoftplusFunction   = {}\n", show(ag::softplus(sx)));
    fmt::print("naive gradient     = {}\n", show(naive_grad));
    fmt::print("custom backward    = {}   (sigmoid(x))\n", show(custom_grad));

    // Check the hand-written backward against central differences, in float64.
    const torch::Tensor cx = torch::linspace(-5, 5, 11, torch::kFloat64);
    const auto softplus_sum = [](const torch::Tensor& v) { return ag::softplus(v).sum(); };
    const double numeric_error = max_error(ag::gradient(softplus_sum, cx),
                                           ag::numeric_gradient(softplus_sum, cx, config.eps));
    fmt::print("backward vs central differences (eps {:g}): max error {:.3g}\n", config.eps,
               numeric_error);
    const ag::GradcheckResult check = ag::gradcheck(ag::softplus, cx, config.eps);
    fmt::print("gradcheck (Jacobian, atol 1e-5, rtol 1e-3): {}, max error {:.3g}\n",
               check.passed ? "passed" : "FAILED", check.max_abs_error);
    const torch::Tensor s = torch::sigmoid(cx);
    fmt::print(
        "second derivative through the custom backward vs sigmoid (1 - sigmoid): "
        "max error {:.3g}\n",
        max_error(ag::derivative(ag::softplus, cx, 2), s * (1 - s)));
    if (!check.passed) throw std::runtime_error("the custom backward does not match its gradient");
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
