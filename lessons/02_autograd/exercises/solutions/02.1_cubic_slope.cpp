// Solution of exercise 02.1: a leaf that records, backward() on the sum, its grad().
#include <torch/torch.h>

torch::Tensor cubic_slope(const torch::Tensor& x) {
  const auto leaf = x.detach().clone().requires_grad_(true);
  const auto f = leaf.pow(3) - 2 * leaf.pow(2) + 3 * leaf - 1;  // elementwise, like x
  f.sum().backward();                                           // d sum_i f(x_i) / d x_j = f'(x_j)
  return leaf.grad();
}
