// Exercise 04.2: the best line, exactly, without training.
//
// Write fit_line(x, y) for two (N) tensors: return the tensor {intercept, slope} (2) of the line
// that minimises the mean squared error. With mean_x and mean_y the means:
//   slope     = sum((x - mean_x) * (y - mean_y)) / sum((x - mean_x)^2)
//   intercept = mean_y - slope * mean_x
// Compute it with tensor operations, no loop.
//
// Check it: ./course check 04.2     A hint: ./course hint 04.2
#include <torch/torch.h>

torch::Tensor fit_line(const torch::Tensor& x, const torch::Tensor& y) {
  // TODO: replace this line with your code.
  return torch::stack({y.mean(), x.mean()});
}
