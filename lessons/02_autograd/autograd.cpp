// autograd.cpp: lesson 02's checkable functions (see autograd.h for what each one promises).
#include "autograd.h"

#include <vector>

namespace course::autograd {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

/// A fresh leaf with the values of x that records operations: Python's
/// x.detach().clone().requires_grad_(True). The caller's tensor is never changed.
torch::Tensor make_leaf(const torch::Tensor& x) {
  return x.detach().clone().requires_grad_(true);
}

}  // namespace

// ---- Example functions ----------------------------------------------------------------------

torch::Tensor cubic(const torch::Tensor& x) {
  return x.pow(3) - 2 * x.pow(2) + 3 * x - 1;
}

torch::Tensor naive_softplus(const torch::Tensor& x) {
  return torch::log(1 + torch::exp(x));
}

// ---- Derivatives ----------------------------------------------------------------------------

torch::Tensor gradient(const TensorFn& f, const torch::Tensor& x) {
  torch::Tensor leaf = make_leaf(x);
  torch::Tensor y = f(leaf);
  TORCH_CHECK(y.numel() == 1,
              "gradient() needs a function with one output value, but f(x) has "
              "shape ",
              y.sizes(), ": reduce it first, for example with .sum()");
  y.backward();  // fills leaf.grad() with d y / d leaf
  // A function that ignores x leaves .grad undefined: its gradient is zero.
  return leaf.grad().defined() ? leaf.grad() : torch::zeros_like(leaf);
}

torch::Tensor derivative(const TensorFn& f, const torch::Tensor& x, int order) {
  TORCH_CHECK(order >= 1, "derivative order must be 1 or more, got ", order);
  torch::Tensor leaf = make_leaf(x);
  torch::Tensor current = f(leaf);
  TORCH_CHECK(current.sizes() == leaf.sizes(),
              "derivative() needs an elementwise f (output "
              "shape = input shape), but f maps ",
              leaf.sizes(), " to ", current.sizes());
  for (int step = 0; step < order; ++step) {
    if (!current.requires_grad()) return torch::zeros_like(leaf);  // a constant: derivative 0
    // For an elementwise f, d sum_i f(x_i) / d x_j = f'(x_j): one call gives every point.
    // create_graph = true records the backward pass itself, so the result can be differentiated.
    const variable_list grads = torch::autograd::grad({current.sum()}, {leaf},
                                                      /*grad_outputs=*/{},
                                                      /*retain_graph=*/true,
                                                      /*create_graph=*/true,
                                                      /*allow_unused=*/true);
    current = grads[0].defined() ? grads[0] : torch::zeros_like(leaf);
  }
  return current.detach();
}

// ---- What backward() does to .grad ----------------------------------------------------------

Accumulation accumulate(const torch::Tensor& x, int calls) {
  TORCH_CHECK(calls >= 1, "accumulate() needs at least one backward call, got ", calls);
  torch::Tensor leaf = make_leaf(x);
  std::vector<torch::Tensor> rows;
  for (int call = 0; call < calls; ++call) {
    cubic(leaf).sum().backward();         // a new graph each time; its gradient is ADDED to .grad
    rows.push_back(leaf.grad().clone());  // clone: the next backward may update .grad in place
  }
  Accumulation result;
  result.after_each = torch::stack(rows);  // (calls, N)

  leaf.grad().zero_();  // Python: x.grad.zero_()
  result.after_zero = leaf.grad().clone();

  leaf.mutable_grad().reset();  // Python: x.grad = None
  result.defined_after_reset = leaf.grad().defined();

  cubic(leaf).sum().backward();  // starts from nothing again
  result.after_reset_and_backward = leaf.grad().clone();
  return result;
}

torch::Tensor backward_twice(const torch::Tensor& x, bool retain_graph) {
  torch::Tensor leaf = make_leaf(x);
  torch::Tensor y = cubic(leaf).sum();
  y.backward(/*gradient=*/{}, /*retain_graph=*/retain_graph);
  y.backward();  // throws c10::Error when the first call freed the graph
  return leaf.grad();
}

DetachGrads detach_grads(const torch::Tensor& x) {
  DetachGrads grads;
  grads.full = gradient([](const torch::Tensor& t) { return (t * t * t).sum(); }, x);
  // detach(): same values, no history. Autograd sees (t * t) as a constant c, so d(c t)/dt = c.
  grads.detached = gradient([](const torch::Tensor& t) { return ((t * t).detach() * t).sum(); }, x);
  return grads;
}

// ---- NoGradGuard versus InferenceMode -------------------------------------------------------

ModeReport compare_modes() {
  ModeReport report;
  const torch::Tensor w = torch::tensor({1.0F, 2.0F, 3.0F}, torch::requires_grad());

  torch::Tensor y_no_grad;
  {
    torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
    y_no_grad = w * 2;
  }
  report.no_grad_requires_grad = y_no_grad.requires_grad();
  report.no_grad_is_inference = y_no_grad.is_inference();
  (y_no_grad * w).sum().backward();  // y_no_grad is a constant here: d/dw = y_no_grad
  report.no_grad_usable_later = w.grad().defined() && w.grad().equal(y_no_grad);

  torch::Tensor y_inference;
  {
    c10::InferenceMode inference;  // Python: with torch.inference_mode():
    y_inference = w * 2;
  }
  report.inference_requires_grad = y_inference.requires_grad();
  report.inference_is_inference = y_inference.is_inference();
  try {
    (y_inference * w).sum().backward();  // the product must save y_inference for backward
  } catch (const c10::Error& error) {
    report.inference_error = error.what_without_backtrace();
  }
  return report;
}

LineStep line_step(const torch::Tensor& x, const torch::Tensor& y, double w, double b, double lr) {
  TORCH_CHECK(x.sizes() == y.sizes(), "line_step: x and y must have the same shape, got ",
              x.sizes(), " and ", y.sizes());
  torch::Tensor weight = torch::scalar_tensor(w, x.options()).requires_grad_(true);
  torch::Tensor bias = torch::scalar_tensor(b, x.options()).requires_grad_(true);

  const torch::Tensor loss = (weight * x + bias - y).pow(2).mean();
  loss.backward();

  LineStep step;
  step.loss = loss.detach();
  step.dw = weight.grad().clone();
  step.db = bias.grad().clone();
  {
    torch::NoGradGuard no_grad;  // the update is not part of the model: do not record it
    weight -= lr * weight.grad();
    bias -= lr * bias.grad();
  }
  weight.grad().zero_();  // ready for the next step's backward()
  bias.grad().zero_();
  step.w = weight;
  step.b = bias;
  return step;
}

std::string update_without_guard_error() {
  torch::Tensor weight = torch::scalar_tensor(1.0, torch::requires_grad());
  try {
    weight -= 0.1 * torch::ones({});  // in place on a leaf that requires grad, while recording
  } catch (const c10::Error& error) {
    return error.what_without_backtrace();
  }
  return "";
}

// ---- A custom autograd Function -------------------------------------------------------------

torch::Tensor SoftplusFunction::forward(AutogradContext* ctx, const torch::Tensor& x) {
  ctx->save_for_backward({x});  // Python: ctx.save_for_backward(x)
  // e^-|x| is in (0, 1]: it cannot overflow. log1p(t) keeps a tiny t that log(1 + t) rounds to 0.
  return torch::clamp_min(x, 0) + torch::log1p(torch::exp(-x.abs()));
}

variable_list SoftplusFunction::backward(AutogradContext* ctx, variable_list grad_outputs) {
  const torch::Tensor x = ctx->get_saved_variables()[0];  // Python: x, = ctx.saved_tensors
  // One gradient per forward input. sigmoid never overflows, and it is made of ops that autograd
  // records when create_graph = true, which is what makes second derivatives work.
  return {grad_outputs[0] * torch::sigmoid(x)};
}

torch::Tensor softplus(const torch::Tensor& x) {
  return SoftplusFunction::apply(x);
}

// ---- Checking a gradient numerically --------------------------------------------------------

torch::Tensor numeric_jacobian(const TensorFn& f, const torch::Tensor& x, double eps) {
  TORCH_CHECK(eps > 0, "numeric_jacobian: eps must be a small positive step such as 1e-6, got ",
              eps);
  torch::NoGradGuard no_grad;  // values only: nothing here needs a graph
  const torch::Tensor x64 = x.detach().to(torch::kFloat64).contiguous();
  const int64_t inputs = x64.numel();
  const int64_t outputs = f(x64).numel();
  torch::Tensor jacobian = torch::zeros({outputs, inputs}, torch::kFloat64);  // (M, N)
  for (int64_t j = 0; j < inputs; ++j) {
    torch::Tensor plus = x64.clone();
    torch::Tensor minus = x64.clone();
    plus.view({-1})[j] += eps;  // Python: plus.view(-1)[j] += eps
    minus.view({-1})[j] -= eps;
    const torch::Tensor column = (f(plus) - f(minus)).to(torch::kFloat64).reshape({-1}) / (2 * eps);
    jacobian.select(/*dim=*/1, j).copy_(column);  // Python: jacobian[:, j] = column
  }
  return jacobian;
}

torch::Tensor autograd_jacobian(const TensorFn& f, const torch::Tensor& x) {
  const torch::Tensor leaf = make_leaf(x.to(torch::kFloat64));
  const torch::Tensor y = f(leaf).reshape({-1});                                      // (M,)
  torch::Tensor jacobian = torch::zeros({y.numel(), leaf.numel()}, torch::kFloat64);  // (M, N)
  if (!y.requires_grad()) return jacobian;                                            // f ignores x
  for (int64_t i = 0; i < y.numel(); ++i) {
    torch::Tensor one_hot = torch::zeros_like(y);
    one_hot[i] = 1;
    // grad_outputs = one_hot picks output i: the result is row i of the Jacobian.
    const variable_list grads = torch::autograd::grad({y}, {leaf}, {one_hot},
                                                      /*retain_graph=*/true,
                                                      /*create_graph=*/false,
                                                      /*allow_unused=*/true);
    if (grads[0].defined()) jacobian[i].copy_(grads[0].reshape({-1}));
  }
  return jacobian;
}

torch::Tensor numeric_gradient(const TensorFn& f, const torch::Tensor& x, double eps) {
  const torch::Tensor jacobian = numeric_jacobian(f, x, eps);
  TORCH_CHECK(jacobian.size(0) == 1,
              "numeric_gradient needs a function with one output value, "
              "but f(x) has ",
              jacobian.size(0), ": reduce it first, for example with .sum()");
  return jacobian[0].reshape(x.sizes());
}

GradcheckResult gradcheck(const TensorFn& f, const torch::Tensor& x, double eps, double atol,
                          double rtol) {
  const torch::Tensor numeric = numeric_jacobian(f, x, eps);
  const torch::Tensor analytic = autograd_jacobian(f, x);
  const torch::Tensor error = (analytic - numeric).abs();
  GradcheckResult result;
  result.max_abs_error = error.numel() > 0 ? error.max().item<double>() : 0.0;
  result.passed = (error <= atol + rtol * numeric.abs()).all().item<bool>();
  return result;
}

}  // namespace course::autograd
