// Exercise 04.1: one step of gradient descent, by hand.
//
// weight (D) and bias () are leaves with requires_grad. Write gradient_step(weight, bias,
// features, y, lr), one full-batch step that lowers the mean squared error of
// prediction = features @ weight + bias  (features (N, D), y (N)):
//   1. compute the loss, the mean of (prediction - y)^2, and call backward() on it;
//   2. under torch::NoGradGuard, move each tensor downhill: weight -= lr * weight.grad(), the
//      same for bias, then zero both gradients (backward() ADDS to them);
//   3. return the loss from step 1, detached.
//
// Check it: ./course check 04.1     A hint: ./course hint 04.1
#include <torch/torch.h>

torch::Tensor gradient_step(torch::Tensor& weight, torch::Tensor& bias,
                            const torch::Tensor& features, const torch::Tensor& y, double lr) {
  // TODO: replace these lines with your code.
  const auto prediction = features.matmul(weight) + bias;  // (N)
  return (prediction - y).pow(2).mean().detach() * lr;
}
