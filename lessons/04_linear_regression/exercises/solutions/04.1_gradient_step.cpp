// Solution of exercise 04.1: loss, backward, the update without autograd, zero the gradients.
#include <torch/torch.h>

torch::Tensor gradient_step(torch::Tensor& weight, torch::Tensor& bias,
                            const torch::Tensor& features, const torch::Tensor& y, double lr) {
  const auto prediction = features.matmul(weight) + bias;  // (N, D) @ (D) -> (N)
  const auto loss = (prediction - y).pow(2).mean();        // ()
  loss.backward();
  {
    torch::NoGradGuard no_grad;  // the update is not part of the model
    weight -= lr * weight.grad();
    bias -= lr * bias.grad();
    weight.grad().zero_();
    bias.grad().zero_();
  }
  return loss.detach();
}
