// linear_regression.h: the parts of lesson 04 that main.cpp and the tests share: the synthetic
// data, polynomial features, one gradient-descent step written by hand, one step with
// nn::Linear + optim::SGD, and the exact least-squares answer.
//
// Dimension letters: N = number of points, D = degree of the polynomial (= number of features
// x, x^2, ..., x^D). A "coefficient vector" is (D + 1): c0 + c1 x + c2 x^2 + ... + cD x^D.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace course::linear_regression {

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// The curve behind the data: y = 1 - 0.5 x - 1.5 x^2 + 2 x^3.
torch::Tensor true_curve(const torch::Tensor& x);

/// The true coefficients c0..c3 of true_curve(), as a (4) tensor.
torch::Tensor true_coefficients();

/// Points on a curve: x and y are both (N).
struct Points {
  torch::Tensor x;  ///< (N)
  torch::Tensor y;  ///< (N)
};

/// `n` points with x uniform in [-1, 1) and y = true_curve(x) + noise * N(0, 1).
/// Uses LibTorch's default generator, so the same --seed gives the same points.
Points make_points(int64_t n, double noise);

/// (N) -> (N, D): the columns x, x^2, ..., x^D.
/// Python: torch.stack([x**k for k in range(1, degree + 1)], dim=1)
torch::Tensor polynomial_features(const torch::Tensor& x, int64_t degree);

/// Mean squared error of two (N) tensors, a 0-dim tensor. Python: ((prediction - target)**2).mean()
torch::Tensor mse(const torch::Tensor& prediction, const torch::Tensor& target);

// ---------------------------------------------------------------------------------------------
// Way 1: gradient descent by hand
// ---------------------------------------------------------------------------------------------

/// Two tensors that autograd tracks (requires_grad), and nothing else.
struct HandModel {
  torch::Tensor weight;  ///< (D), one weight per feature
  torch::Tensor bias;    ///< (), a 0-dim tensor

  /// (N) -> (N): polynomial_features(x) @ weight + bias.
  torch::Tensor forward(const torch::Tensor& x) const;
};

/// A HandModel for `degree` with all weights and the bias at zero, on `device`.
HandModel make_hand_model(int64_t degree, torch::Device device = torch::kCPU);

/// One full-batch gradient-descent step: forward, MSE loss, backward, then under NoGradGuard
/// weight -= lr * weight.grad (same for bias), then the gradients are set back to zero.
/// Returns the loss before the update (detached, 0-dim).
torch::Tensor hand_step(HandModel& model, const torch::Tensor& x, const torch::Tensor& y,
                        double lr);

// ---------------------------------------------------------------------------------------------
// Way 2: nn::Linear + optim::SGD
// ---------------------------------------------------------------------------------------------

/// y = Linear(features(x)): a polynomial of degree `degree` written as a LibTorch module.
class PolynomialRegressionImpl : public torch::nn::Module {
 public:
  /// Throws std::invalid_argument unless 1 <= degree <= 10.
  explicit PolynomialRegressionImpl(int64_t degree);

  /// (N) -> (N).
  torch::Tensor forward(const torch::Tensor& x);

  int64_t degree() const { return degree_; }
  /// The layer: weight (1, D), bias (1).
  torch::nn::Linear linear{nullptr};

 private:
  int64_t degree_;
};
TORCH_MODULE(PolynomialRegression);

/// One full-batch step the library way: zero_grad, forward, MSE loss, backward, optimizer.step().
/// Returns the loss before the update (detached, 0-dim).
torch::Tensor sgd_step(PolynomialRegression& model, torch::optim::Optimizer& optimizer,
                       const torch::Tensor& x, const torch::Tensor& y);

// ---------------------------------------------------------------------------------------------
// The exact answer, and comparing answers
// ---------------------------------------------------------------------------------------------

/// The coefficients (D + 1) that minimise the MSE, from torch::linalg_lstsq on the matrix whose
/// columns are 1, x, x^2, ..., x^D. Python: torch.linalg.lstsq(A, y[:, None]).solution[:, 0]
torch::Tensor closed_form(const torch::Tensor& x, const torch::Tensor& y, int64_t degree);

/// The coefficients (D + 1) a trained model stands for: [bias, weight...].
torch::Tensor coefficients(const HandModel& model);
torch::Tensor coefficients(const PolynomialRegression& model);

/// (D + 1) coefficients, (N) x -> (N): c0 + c1 x + ... + cD x^D.
torch::Tensor evaluate_polynomial(const torch::Tensor& coefficients, const torch::Tensor& x);

}  // namespace course::linear_regression
