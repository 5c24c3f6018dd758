// autograd.h: the checkable parts of lesson 02. Derivatives of given functions at given points
// (first, second, higher), what backward() does to .grad (accumulation, zero_, reset,
// retain_graph), detach, NoGradGuard versus InferenceMode, a custom torch::autograd::Function with
// a hand-written backward (softplus), and a numeric Jacobian (central differences in float64) with
// a small gradcheck built on it. main.cpp tells the story; tests/lessons/test_02_autograd.cpp
// checks every function here against Python (tests/golden/02_autograd.json).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

namespace course::autograd {

/// A function of one tensor, e.g. [](const torch::Tensor& x) { return x.tanh(); }.
using TensorFn = std::function<torch::Tensor(const torch::Tensor&)>;

// ---- Example functions ----------------------------------------------------------------------

/// f(x) = x^3 - 2x^2 + 3x - 1, elementwise. By hand: f' = 3x^2 - 4x + 3, f'' = 6x - 4, f''' = 6.
torch::Tensor cubic(const torch::Tensor& x);

/// softplus(x) = log(1 + e^x), written the textbook way. In float32 it gives inf at x = 100
/// (e^100 overflows) and 0 at x = -20 (1 + e^-20 rounds to 1); its autograd gradient at 100 is nan.
torch::Tensor naive_softplus(const torch::Tensor& x);

// ---- Derivatives ----------------------------------------------------------------------------

/// The gradient of a scalar function, d f(x) / dx, the same shape as x. Uses the Python-like way:
/// a leaf with requires_grad, f(x).backward(), then read x.grad(). `x` itself is not changed.
torch::Tensor gradient(const TensorFn& f, const torch::Tensor& x);

/// The order-th derivative of an elementwise f (f(x)_i depends on x_i only) at every point of x.
/// Each step is torch::autograd::grad(..., create_graph = true): the derivative is itself a graph
/// that can be differentiated again. A derivative that no longer depends on x gives zeros.
torch::Tensor derivative(const TensorFn& f, const torch::Tensor& x, int order = 1);

// ---- What backward() does to .grad ----------------------------------------------------------

/// Gradient accumulation, step by step, on a leaf copy of x with f = cubic(x).sum().
struct Accumulation {
  torch::Tensor after_each;  ///< (calls, N): x.grad after 1, 2, ... backward calls: k * f'(x)
  torch::Tensor after_zero;  ///< x.grad after x.grad().zero_(): zeros, still a tensor
  bool defined_after_reset = true;  ///< x.grad().defined() after x.mutable_grad().reset(): false
  torch::Tensor after_reset_and_backward;  ///< one more backward after the reset: f'(x) again
};
Accumulation accumulate(const torch::Tensor& x, int calls);

/// Calls backward() twice on ONE graph of cubic(x).sum() and returns x.grad (2 f'(x)). Without
/// retain_graph the first call frees the tensors the graph saved, and the second call throws
/// c10::Error ("Trying to backward through the graph a second time").
torch::Tensor backward_twice(const torch::Tensor& x, bool retain_graph);

/// d/dx of sum(x * x * x) and of sum((x * x).detach() * x): 3x^2, and x^2 (the detached factor
/// is a constant to autograd).
struct DetachGrads {
  torch::Tensor full;      ///< 3 x^2
  torch::Tensor detached;  ///< x^2
};
DetachGrads detach_grads(const torch::Tensor& x);

// ---- NoGradGuard versus InferenceMode -------------------------------------------------------

/// What y = w * 2 looks like when made under each guard (w a leaf with requires_grad), and what
/// happens when y is used later, outside the guard, in a computation that autograd records.
struct ModeReport {
  bool no_grad_requires_grad = true;    ///< false: nothing was recorded
  bool no_grad_is_inference = true;     ///< false: a normal tensor
  bool no_grad_usable_later = false;    ///< true: (y * w).sum().backward() works afterwards
  bool inference_requires_grad = true;  ///< false
  bool inference_is_inference = false;  ///< true: an "inference tensor"
  std::string inference_error;          ///< LibTorch's message when y is used in autograd later
};
ModeReport compare_modes();

/// One hand-written gradient-descent step on the mean squared error of y ≈ w * x + b:
/// loss.backward(), then w -= lr * w.grad and b -= lr * b.grad inside a NoGradGuard.
struct LineStep {
  torch::Tensor loss;  ///< mean((w x + b - y)^2) before the step, a 0-dim tensor
  torch::Tensor dw;    ///< d loss / dw, 0-dim
  torch::Tensor db;    ///< d loss / db, 0-dim
  torch::Tensor w;     ///< w after the step (still a leaf with requires_grad)
  torch::Tensor b;     ///< b after the step
};
LineStep line_step(const torch::Tensor& x, const torch::Tensor& y, double w, double b, double lr);

/// The same update WITHOUT the guard: LibTorch refuses an in-place change of a leaf that
/// requires grad. Returns its error message.
std::string update_without_guard_error();

// ---- A custom autograd Function -------------------------------------------------------------

/// softplus(x) = log(1 + e^x), computed carefully as max(x, 0) + log1p(e^-|x|) (no e^x that can
/// overflow), with a hand-written backward: d softplus / dx = sigmoid(x). The backward is made of
/// differentiable ops on the saved input, so second derivatives work too.
/// Python: class Softplus(torch.autograd.Function) with @staticmethod forward/backward.
struct SoftplusFunction : public torch::autograd::Function<SoftplusFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x);
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs);
};

/// SoftplusFunction::apply(x). Python: Softplus.apply(x).
torch::Tensor softplus(const torch::Tensor& x);

// ---- Checking a gradient numerically --------------------------------------------------------

/// J[i][j] = d f(x)_i / d x_j by central differences, (f(x + eps e_j) - f(x - eps e_j)) / (2 eps),
/// computed in float64 whatever x's dtype. Shape (f(x).numel(), x.numel()).
torch::Tensor numeric_jacobian(const TensorFn& f, const torch::Tensor& x, double eps = 1e-6);

/// The same Jacobian from autograd in float64: row i is torch::autograd::grad of output i
/// (grad_outputs one-hot), with retain_graph so one graph serves every row.
torch::Tensor autograd_jacobian(const TensorFn& f, const torch::Tensor& x);

/// The numeric gradient of a scalar f, shaped like x: numeric_jacobian(f, x, eps) row 0.
torch::Tensor numeric_gradient(const TensorFn& f, const torch::Tensor& x, double eps = 1e-6);

struct GradcheckResult {
  bool passed = false;       ///< every entry within atol + rtol * |numeric|
  double max_abs_error = 0;  ///< max |autograd - numeric| over the Jacobian
};

/// torch.autograd.gradcheck in small (same defaults): both Jacobians in float64, compared entry
/// by entry.
GradcheckResult gradcheck(const TensorFn& f, const torch::Tensor& x, double eps = 1e-6,
                          double atol = 1e-5, double rtol = 1e-3);

}  // namespace course::autograd
