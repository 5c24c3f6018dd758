// Solution of exercise 07.2: sums per batch, one division by N, and the mode handed back.
#include <torch/torch.h>

#include "07_mlp/mlp.h"

struct EvalScore {
  double loss = 0, accuracy = 0;
};

EvalScore evaluate_in_batches(course::Mlp& model, const torch::Tensor& x, const torch::Tensor& y,
                              int64_t batch_size) {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  model->eval();               // dropout off
  auto loss_sum = torch::zeros({}, x.options());
  auto correct = torch::zeros({}, y.options());
  for (int64_t start = 0; start < x.size(0); start += batch_size) {
    const auto logits = model->forward(x.slice(0, start, start + batch_size));  // (B, classes)
    const auto labels = y.slice(0, start, start + batch_size);                  // (B,)
    loss_sum += torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    correct += logits.argmax(/*dim=*/1).eq(labels).sum();
  }
  model->train();  // hand it back ready to train
  const auto n = static_cast<double>(x.size(0));
  return {loss_sum.item<double>() / n, correct.item<double>() / n};
}
