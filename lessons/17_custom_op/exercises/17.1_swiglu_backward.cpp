// Exercise 17.1: the gradients of SwiGLU, by hand.
//
// Lesson 17's operator is out = silu(a) * b = a * sigmoid(a) * b, elementwise (a, b of one
// shape). Its backward kernel gets `grad` (dL/d out, the shape of a) and computes both gradients
// from grad, a and b in one loop, without silu(a) ever stored. Write swiglu_backward_by_hand(grad,
// a, b) with ATen ops: return {grad_a, grad_b}, each the shape of a, where with s = sigmoid(a)
//   grad_a = grad * b * s * (1 + a * (1 - s))      (the product rule on a * s, and s' = s (1 - s))
//   grad_b = grad * a * s                          (= grad * silu(a))
// The grade checks them against autograd of torch::silu(a) * b. Do not call autograd or
// torch::silu_backward here: the point is the formula.
// Python:  grad_a, grad_b = torch.autograd.grad(F.silu(a) * b, (a, b), grad)
//
// Check it: ./course check 17.1     A hint: ./course hint 17.1
#include <torch/torch.h>

#include <utility>

std::pair<torch::Tensor, torch::Tensor> swiglu_backward_by_hand(const torch::Tensor& grad,
                                                                const torch::Tensor& a,
                                                                const torch::Tensor& b) {
  // TODO: replace this line with your code.
  return {grad * b, grad * a};
}
