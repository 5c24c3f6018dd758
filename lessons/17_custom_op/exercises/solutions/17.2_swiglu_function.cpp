// Solution of exercise 17.2: forward saves the inputs, backward applies the formulas of 17.1.
#include <torch/torch.h>

struct SwiGLUByHand : torch::autograd::Function<SwiGLUByHand> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a,
                               const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return a * torch::sigmoid(a) * b;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();  // {a, b}
    const auto& a = saved[0];
    const auto& b = saved[1];
    const auto& grad = grad_outputs[0];  // dL/d out, the shape of a
    const auto s = torch::sigmoid(a);
    return {grad * b * s * (1 + a * (1 - s)), grad * a * s};  // {dL/da, dL/db}
  }
};

torch::Tensor swiglu_by_hand(const torch::Tensor& a, const torch::Tensor& b) {
  return SwiGLUByHand::apply(a, b);
}
