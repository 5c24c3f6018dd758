// Solution of exercise 17.1: s = sigmoid(a) once, then the two formulas.
#include <torch/torch.h>

#include <utility>

std::pair<torch::Tensor, torch::Tensor> swiglu_backward_by_hand(const torch::Tensor& grad,
                                                                const torch::Tensor& a,
                                                                const torch::Tensor& b) {
  const auto s = torch::sigmoid(a);                      // the shape of a
  const auto grad_a = grad * b * s * (1 + a * (1 - s));  // d(a s b)/da = b (s + a s (1 - s))
  const auto grad_b = grad * a * s;                      // d(a s b)/db = silu(a)
  return {grad_a, grad_b};
}
