// Exercise 17.2: SwiGLU as a torch::autograd::Function with its own backward.
//
// Lesson 17's SwiGLUFunction (swiglu_op.cpp) tells autograd how to differentiate the operator:
// forward computes the output and saves what backward needs, backward turns dL/d out into the
// gradients of the inputs. Complete SwiGLUByHand:
//   forward(ctx, a, b)          return silu(a) * b = a * sigmoid(a) * b; save a and b with
//                               ctx->save_for_backward({a, b})
//   backward(ctx, grad_outputs) grad_outputs[0] is dL/d out; read a, b back with
//                               ctx->get_saved_variables() and return {grad_a, grad_b}, in the
//                               order of forward's inputs (exercise 17.1's formulas)
// swiglu_by_hand(a, b) calls it: SwiGLUByHand::apply(a, b). Autograd records nothing inside
// forward, so backward is the only way the gradients can be right.
// Python:  class SwiGLU(torch.autograd.Function) with @staticmethod forward(ctx, a, b) and
//          backward(ctx, grad); SwiGLU.apply(a, b)
//
// Check it: ./course check 17.2     A hint: ./course hint 17.2
#include <torch/torch.h>

struct SwiGLUByHand : torch::autograd::Function<SwiGLUByHand> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a,
                               const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    // TODO: replace this line with your code.
    return a * b;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();  // {a, b}
    // TODO: replace this line with your code.
    return {grad_outputs[0] * saved[1], grad_outputs[0] * saved[0]};
  }
};

torch::Tensor swiglu_by_hand(const torch::Tensor& a, const torch::Tensor& b) {
  return SwiGLUByHand::apply(a, b);
}
