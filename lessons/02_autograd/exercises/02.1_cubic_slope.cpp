// Exercise 02.1: let autograd find a slope.
//
// Write cubic_slope(x). For every value of the 1-D tensor x, return the derivative of
// f(x) = x^3 - 2x^2 + 3x - 1 at that value, computed by autograd: make a leaf that records
// operations (a copy of x with requires_grad), compute f of it, sum, call backward(), and return
// the leaf's grad(). Do not type the derivative by hand. x itself must stay as it was.
//
// Check it: ./course check 02.1     A hint: ./course hint 02.1
#include <torch/torch.h>

torch::Tensor cubic_slope(const torch::Tensor& x) {
  // TODO: replace this line with your code.
  return torch::zeros_like(x);
}
