// linear_regression.cpp: data, the two ways to take a gradient step, and the closed form.
#include "linear_regression.h"

#include <fmt/format.h>

#include <stdexcept>
#include <tuple>

namespace course::linear_regression {
namespace {

constexpr int64_t kMaxDegree = 10;  // past this, x^D in float32 makes gradient descent hopeless

void check_degree(int64_t degree) {
  if (degree < 1 || degree > kMaxDegree) {
    throw std::invalid_argument(fmt::format(
        "degree {} is out of range: use a degree from 1 (a line) to {}", degree, kMaxDegree));
  }
}

}  // namespace

// =============================================================================================
// Data
// =============================================================================================

torch::Tensor true_coefficients() {
  return torch::tensor({1.0F, -0.5F, -1.5F, 2.0F});
}

torch::Tensor true_curve(const torch::Tensor& x) {
  return evaluate_polynomial(true_coefficients().to(x.device()), x);
}

Points make_points(int64_t n, double noise) {
  if (n < 2) throw std::invalid_argument(fmt::format("need at least 2 points, got {}", n));
  Points points;
  points.x = torch::rand({n}) * 2 - 1;                          // (N), uniform in [-1, 1)
  points.y = true_curve(points.x) + noise * torch::randn({n});  // (N)
  return points;
}

torch::Tensor polynomial_features(const torch::Tensor& x, int64_t degree) {
  check_degree(degree);
  TORCH_CHECK(x.dim() == 1, "polynomial_features wants x of shape (N), got ", x.sizes());
  std::vector<torch::Tensor> columns;
  for (int64_t k = 1; k <= degree; ++k) columns.push_back(x.pow(k));  // each (N)
  return torch::stack(columns, /*dim=*/1);                            // (N, D)
}

torch::Tensor mse(const torch::Tensor& prediction, const torch::Tensor& target) {
  return (prediction - target).pow(2).mean();
}

// =============================================================================================
// Way 1: gradient descent by hand
// =============================================================================================

torch::Tensor HandModel::forward(const torch::Tensor& x) const {
  const auto features = polynomial_features(x, weight.size(0));  // (N, D)
  return features.matmul(weight) + bias;                         // (N, D) @ (D) -> (N)
}

HandModel make_hand_model(int64_t degree, torch::Device device) {
  check_degree(degree);
  // Python: torch.zeros(D, requires_grad=True)
  const auto options = torch::TensorOptions().device(device).requires_grad(true);
  return HandModel{torch::zeros({degree}, options), torch::zeros({}, options)};
}

torch::Tensor hand_step(HandModel& model, const torch::Tensor& x, const torch::Tensor& y,
                        double lr) {
  // Forward: autograd records every operation on weight and bias.
  const auto loss = mse(model.forward(x), y);  // ()
  // Backward: fills weight.grad() and bias.grad() with d(loss)/d(parameter).
  loss.backward();
  {
    // The update itself must not be recorded: Python's `with torch.no_grad():`.
    torch::NoGradGuard no_grad;
    model.weight -= lr * model.weight.grad();
    model.bias -= lr * model.bias.grad();
    // backward() adds to .grad; without this the next step would add to this step's gradient.
    model.weight.grad().zero_();
    model.bias.grad().zero_();
  }
  return loss.detach();
}

// =============================================================================================
// Way 2: nn::Linear + optim::SGD
// =============================================================================================

PolynomialRegressionImpl::PolynomialRegressionImpl(int64_t degree) : degree_(degree) {
  check_degree(degree);
  linear =
      register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(/*in_features=*/degree,
                                                                           /*out_features=*/1)));
}

torch::Tensor PolynomialRegressionImpl::forward(const torch::Tensor& x) {
  const auto features = polynomial_features(x, degree_);  // (N, D)
  return linear(features).squeeze(/*dim=*/1);             // (N, 1) -> (N)
}

torch::Tensor sgd_step(PolynomialRegression& model, torch::optim::Optimizer& optimizer,
                       const torch::Tensor& x, const torch::Tensor& y) {
  optimizer.zero_grad();                        // the two .grad().zero_() lines of hand_step
  const auto loss = mse(model->forward(x), y);  // ()
  loss.backward();
  optimizer.step();  // for plain SGD: p -= lr * p.grad() for every parameter, without grad
  return loss.detach();
}

// =============================================================================================
// The exact answer, and comparing answers
// =============================================================================================

torch::Tensor closed_form(const torch::Tensor& x, const torch::Tensor& y, int64_t degree) {
  TORCH_CHECK(x.dim() == 1 && y.sizes() == x.sizes(),
              "closed_form wants x and y of the same shape (N), got ", x.sizes(), " and ",
              y.sizes());
  // A = [1, x, x^2, ..., x^D]: the design matrix, (N, D + 1).
  const auto design =
      torch::cat({torch::ones({x.size(0), 1}, x.options()), polynomial_features(x, degree)},
                 /*dim=*/1);
  // Least squares: the c that minimises |A c - y|^2. Returns (solution, residuals, rank,
  // singular values); we want the solution, (D + 1, 1).
  const auto solution = std::get<0>(torch::linalg_lstsq(design, y.unsqueeze(1)));
  return solution.squeeze(1);  // (D + 1)
}

torch::Tensor coefficients(const HandModel& model) {
  return torch::cat({model.bias.detach().reshape({1}), model.weight.detach()});  // (D + 1)
}

torch::Tensor coefficients(const PolynomialRegression& model) {
  // weight is (1, D) and bias (1): Linear computes features @ weight^T + bias.
  return torch::cat({model->linear->bias.detach(), model->linear->weight.detach().flatten()});
}

torch::Tensor evaluate_polynomial(const torch::Tensor& coefficients, const torch::Tensor& x) {
  // Horner's rule: c0 + x (c1 + x (c2 + ... x cD)).
  auto y = torch::zeros_like(x) + coefficients[-1];
  for (int64_t k = coefficients.size(0) - 2; k >= 0; --k) y = y * x + coefficients[k];
  return y;  // (N)
}

}  // namespace course::linear_regression
