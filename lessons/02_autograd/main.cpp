// 02_autograd: how LibTorch computes gradients for you, and how to check a gradient you wrote.
//
// What it teaches, in five steps on numbers you can check by hand: 1. requires_grad, backward(),
// .grad and detach()  2. gradients accumulate (zero_(), reset()); retain_graph  3. NoGradGuard
// versus InferenceMode  4. torch::autograd::grad with create_graph: higher derivatives  5. a custom
// torch::autograd::Function (softplus with its own backward), checked with central differences.
// Left out on purpose: optimizers and updates by hand (lesson 04), forward-mode AD, hooks.
//
// Run:  ./course run 02   (-- --point 3: steps 1-2 at x = 3)   python
// lessons/02_autograd/reference.py
#include <fmt/format.h>
#include <torch/torch.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "course/flags.h"
#include "course/lesson.h"
#include "course/show.h"

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;  // std::vector<torch::Tensor>
using TensorFn = std::function<torch::Tensor(const torch::Tensor&)>;
using course::format_short;  // "[7, 14, 21]": values on one line, 4 significant digits

struct Config {
  double point = 2.0;  // where steps 1 and 2 differentiate the cubic, e.g. 2: f'(2) = 7
  int calls = 3;       // backward() calls in a row in step 2
  double eps = 1e-6;   // central-difference step of the gradient check (in float64)
};

// ==== The functions we differentiate =============================================================
// f(x) = x^3 - 2x^2 + 3x - 1, elementwise. By hand: f' = 3x^2 - 4x + 3, f'' = 6x - 4, f''' = 6.
torch::Tensor cubic(const torch::Tensor& x) {
  return x.pow(3) - 2 * x.pow(2) + 3 * x - 1;
}

// softplus(x) = log(1 + e^x) the textbook way. In float32 e^100 overflows (inf, and a NaN
// gradient), and 1 + e^-20 rounds to 1 (0 instead of 2e-9).
torch::Tensor naive_softplus(const torch::Tensor& x) {
  return torch::log(1 + torch::exp(x));
}

// A new leaf with x's values that records what is done to it; x itself is not touched.
torch::Tensor make_leaf(const torch::Tensor& x) {
  return x.detach().clone().requires_grad_(true);  // Python: x.detach().clone().requires_grad_()
}

// ==== 1-2. backward() and .grad ==================================================================
// d f(x) / dx of a scalar f, shaped like x: f(leaf).backward(), then read leaf.grad().
torch::Tensor gradient(const TensorFn& f, const torch::Tensor& x) {
  const torch::Tensor leaf = make_leaf(x);
  f(leaf).backward();  // walks the graph back from f's value, fills leaf.grad(); needs one value
  return leaf.grad();
}

// x.grad after each backward() of cubic(x).sum() (row k: (k + 1) f'(x)), after zero_(), after
// reset() (defined: false; Python: x.grad is None), and after one more backward().
struct Accumulation {
  torch::Tensor after_each, after_zero;
  bool defined_after_reset;
  torch::Tensor after_reset_and_backward;
};

Accumulation accumulate(const torch::Tensor& x, int calls) {
  const torch::Tensor leaf = make_leaf(x);
  std::vector<torch::Tensor> rows;
  for (int call = 0; call < calls; ++call) {
    cubic(leaf).sum().backward();         // a new graph each time; its gradient is ADDED to .grad
    rows.push_back(leaf.grad().clone());  // clone: the next backward changes .grad in place
  }
  Accumulation result;
  result.after_each = torch::stack(rows);  // (calls, N)
  leaf.grad().zero_();                     // Python: x.grad.zero_()
  result.after_zero = leaf.grad().clone();
  leaf.mutable_grad().reset();  // Python: x.grad = None (what optimizer.zero_grad() does)
  result.defined_after_reset = leaf.grad().defined();
  cubic(leaf).sum().backward();  // starts from nothing again
  result.after_reset_and_backward = leaf.grad().clone();
  return result;
}

// Two backward() calls on ONE graph. The first frees what the graph saved unless retain_graph is
// true; then the second throws ("Trying to backward through the graph a second time").
torch::Tensor backward_twice(const torch::Tensor& x, bool retain_graph) {
  const torch::Tensor leaf = make_leaf(x);
  const torch::Tensor y = cubic(leaf).sum();
  y.backward(/*gradient=*/{}, /*retain_graph=*/retain_graph);
  y.backward();
  return leaf.grad();  // 2 f'(x)
}

// d/dx sum(x*x*x) = 3x^2, but d/dx sum((x*x).detach() * x) = x^2: a detached tensor is a constant.
std::pair<torch::Tensor, torch::Tensor> detach_grads(const torch::Tensor& x) {
  return {gradient([](const torch::Tensor& t) { return (t * t * t).sum(); }, x),
          gradient([](const torch::Tensor& t) { return ((t * t).detach() * t).sum(); }, x)};
}

// The first sentence of the error that `action` throws, or "" when it runs through.
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const c10::Error& error) {
    const std::string message = error.what_without_backtrace();
    return message.substr(0, message.find_last_not_of(' ', message.find_first_of(".(\n") - 1) + 1);
  }
  return "";
}

// ==== 3. NoGradGuard versus InferenceMode ========================================================
// y = w * 2 made under a Guard (torch::NoGradGuard, Python: with torch.no_grad(); or
// c10::InferenceMode, Python: with torch.inference_mode(), faster and stricter). Neither records a
// graph; returns y and the error of using y in autograd later ("" for none).
template <typename Guard>
std::pair<torch::Tensor, std::string> made_under(const torch::Tensor& w) {
  torch::Tensor y;
  {
    Guard guard;  // on until the end of this block
    y = w * 2;
  }
  return {y, error_of([&] { (y * w).sum().backward(); })};  // y * w saves y for the backward pass
}

// ==== 4. Higher derivatives ======================================================================
// The order-th derivative of an elementwise f at every point of x: for such an f,
// d sum_i f(x_i) / d x_j = f'(x_j). create_graph = true records the backward pass as a graph too,
// so its result can be differentiated again.
torch::Tensor derivative(const TensorFn& f, const torch::Tensor& x, int order) {
  const torch::Tensor leaf = make_leaf(x);
  torch::Tensor current = f(leaf);
  TORCH_CHECK(order >= 1 && current.sizes() == leaf.sizes(),
              "derivative() needs order >= 1 and an elementwise f (output shape = input shape)");
  for (int step = 0; step < order; ++step) {
    if (!current.requires_grad()) return torch::zeros_like(leaf);  // a constant: derivative 0
    current = torch::autograd::grad({current.sum()}, {leaf}, /*grad_outputs=*/{},
                                    /*retain_graph=*/true, /*create_graph=*/true,
                                    /*allow_unused=*/true)[0];
    if (!current.defined()) return torch::zeros_like(leaf);  // it no longer depended on x
  }
  return current.detach();
}

// ==== 5. A custom autograd Function, and checking its backward ===================================
// softplus(x) = max(x, 0) + log1p(e^-|x|): the same function, but nothing can overflow. Its
// backward is written by hand: d softplus / dx = sigmoid(x), made of ops autograd can record, so
// second derivatives work too. Python: class Softplus(torch.autograd.Function).
struct SoftplusFunction : public torch::autograd::Function<SoftplusFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});  // Python: ctx.save_for_backward(x)
    return torch::clamp_min(x, 0) + torch::log1p(torch::exp(-x.abs()));
  }
  // grad_outputs[0] is d loss / d softplus(x); the chain rule multiplies it by d softplus / dx.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const torch::Tensor x = ctx->get_saved_variables()[0];  // Python: x, = ctx.saved_tensors
    return {grad_outputs[0] * torch::sigmoid(x)};           // one gradient per forward input
  }
};

torch::Tensor stable_softplus(const torch::Tensor& x) {
  return SoftplusFunction::apply(x);  // Python: Softplus.apply(x)
}

// The gradient of a scalar f by central differences in float64, one input at a time:
// (f(x + eps e_j) - f(x - eps e_j)) / (2 eps). Slow, but it needs no backward at all.
torch::Tensor numeric_gradient(const TensorFn& f, const torch::Tensor& x, double eps) {
  const torch::Tensor x64 = x.detach().to(torch::kFloat64).contiguous();  // values only
  torch::Tensor grad = torch::zeros_like(x64);
  for (int64_t j = 0; j < x64.numel(); ++j) {
    torch::Tensor plus = x64.clone(), minus = x64.clone();
    plus.view({-1})[j] += eps;
    minus.view({-1})[j] -= eps;
    grad.view({-1})[j] = (f(plus) - f(minus)).item<double>() / (2 * eps);
  }
  return grad;
}

// What the gradient check differentiates: softplus of a 1-D v summed with weights 1 to 2, so that
// the backward gets grad_outputs other than 1 (a backward that ignored them would pass a plain
// sum).
torch::Tensor weighted_softplus_sum(const torch::Tensor& v) {
  return (stable_softplus(v) * torch::linspace(1, 2, v.numel(), v.options())).sum();
}

double max_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("02_autograd", "Autograd: gradients, higher derivatives, custom Functions");
    flags.add("--point", config.point, "where steps 1 and 2 differentiate the cubic", {-100, 100});
    flags.add("--eps", config.eps, "central-difference step of the gradient check", {1e-9, 1e-2});
    flags.parse(argc, argv);
    course::begin_lesson(flags);

    fmt::print("\n-- 1. requires_grad, backward(), .grad, detach()\n");
    const torch::Tensor x = torch::tensor(config.point, torch::requires_grad());  // a leaf
    const torch::Tensor y = cubic(x);  // every op on x is recorded in a graph
    y.backward();                      // walks the graph back, fills x.grad()
    const double p = config.point;
    fmt::print("f(x) = x^3 - 2x^2 + 3x - 1 at x = {}: f = {:.4g}, x.grad() = {:.4g}\n", p,
               y.item<double>(), x.grad().item<double>());
    fmt::print("by hand: 3x^2 - 4x + 3 = {:.4g}; y.grad_fn: {}, x.is_leaf: {}\n",
               3 * p * p - 4 * p + 3, y.grad_fn()->name(), x.is_leaf());
    const torch::Tensor small = torch::tensor({1.0F, 2.0F, 3.0F});
    const auto [full, detached] = detach_grads(small);
    fmt::print("x = {}: d/dx sum(x*x*x) = {}, d/dx sum((x*x).detach() * x) = {}\n",
               format_short(small), format_short(full), format_short(detached));

    fmt::print("\n-- 2. gradients accumulate: zero_() and reset(); retain_graph\n");
    const torch::Tensor point = torch::tensor({config.point});  // (1,)
    const Accumulation acc = accumulate(point, config.calls);
    fmt::print("x.grad after {} backward() calls: {}   (each call ADDS f'(x))\n", config.calls,
               format_short(acc.after_each));
    fmt::print("after zero_(): {}; after reset(): defined = {}; one more backward(): {}\n",
               format_short(acc.after_zero), acc.defined_after_reset,
               format_short(acc.after_reset_and_backward));
    fmt::print("two backward() on one graph: error: {}\n",
               error_of([&] { backward_twice(point, /*retain_graph=*/false); }));
    fmt::print("with retain_graph = true: x.grad = {}   (2 f'(x))\n",
               format_short(backward_twice(point, /*retain_graph=*/true)));

    fmt::print("\n-- 3. NoGradGuard versus InferenceMode\n");
    const torch::Tensor w = torch::tensor({1.0F, 2.0F, 3.0F}, torch::requires_grad());
    for (const auto& [name, made] :
         {std::pair{"NoGradGuard", made_under<torch::NoGradGuard>(w)},
          std::pair{"InferenceMode", made_under<c10::InferenceMode>(w)}}) {
      fmt::print("under {}: requires_grad {}, is_inference {}, usable by autograd later: {}\n",
                 name, made.first.requires_grad(), made.first.is_inference(),
                 made.second.empty() ? "yes" : "no: " + made.second);
    }
    // What NoGradGuard is for: an update by hand, w -= lr * w.grad(), must not be recorded.
    fmt::print("w -= 0.1 outside NoGradGuard: error: {}\n",
               error_of([&] { make_leaf(w).sub_(0.1); }));

    fmt::print("\n-- 4. torch::autograd::grad(create_graph = true): higher derivatives\n");
    const torch::Tensor xs = torch::linspace(-2, 2, 9, torch::kFloat64);
    fmt::print("x      = {}\n", format_short(xs));
    for (int order = 1; order <= 4; ++order) {
      fmt::print("f^({})  = {}\n", order, format_short(derivative(cubic, xs, order)));
    }
    const torch::Tensor t = xs.tanh();  // tanh' = 1 - tanh^2, tanh'' = -2 tanh (1 - tanh^2)
    fmt::print("tanh' vs 1 - tanh^2: max error {:.2g}; tanh'' vs -2 tanh (1 - tanh^2): {:.2g}\n",
               max_error(derivative(torch::tanh, xs, 1), 1 - t * t),
               max_error(derivative(torch::tanh, xs, 2), -2 * t * (1 - t * t)));

    fmt::print("\n-- 5. a custom torch::autograd::Function: softplus with its own backward\n");
    const torch::Tensor sx = torch::tensor({-20.0F, -1.0F, 0.0F, 1.0F, 20.0F, 100.0F});  // float32
    fmt::print("x                = {}\n", format_short(sx));
    fmt::print("log(1 + exp(x))  = {}\n", format_short(naive_softplus(sx)));
    fmt::print("SoftplusFunction = {}\n", format_short(stable_softplus(sx)));
    fmt::print("naive gradient   = {}\n",
               format_short(gradient([](auto v) { return naive_softplus(v).sum(); }, sx)));
    fmt::print("custom backward  = {}   (sigmoid(x))\n",
               format_short(gradient([](auto v) { return stable_softplus(v).sum(); }, sx)));
    // The check, in float64: autograd through the custom backward against central differences.
    const torch::Tensor cx = torch::linspace(-5, 5, 11, torch::kFloat64);
    const double error = max_error(gradient(weighted_softplus_sum, cx),
                                   numeric_gradient(weighted_softplus_sum, cx, config.eps));
    fmt::print("backward vs central differences (eps {:g}): max error {:.2g}, {}\n", config.eps,
               error, error < 1e-6 ? "passed" : "FAILED");
    const torch::Tensor s = torch::sigmoid(cx);  // the backward is differentiable: softplus'' works
    fmt::print("softplus'' vs sigmoid (1 - sigmoid): max error {:.2g}\n",
               max_error(derivative(stable_softplus, cx, 2), s * (1 - s)));
    if (error >= 1e-6) throw std::runtime_error("the custom backward does not match its gradient");
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
