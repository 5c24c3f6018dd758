// Solution of exercise 14.2: bincount of the argmax with minlength C; xlogy makes 0 log 0 = 0.
#include <torch/torch.h>

#include <cmath>

struct ClassSpread {
  torch::Tensor shares;     // (C) float64
  double entropy_bits = 0;  // 0 (one class) .. log2(C) (every class equally)
};

ClassSpread class_spread(const torch::Tensor& logits) {
  const auto predicted = logits.argmax(/*dim=*/1);  // (N)
  const auto counts = torch::bincount(predicted, /*weights=*/{}, /*minlength=*/logits.size(1));
  const auto shares = counts.to(torch::kFloat64) / static_cast<double>(logits.size(0));  // (C)
  // H = -sum p log2 p; xlogy(p, p) is p log p, and 0 where p is 0.
  const double entropy = -torch::xlogy(shares, shares).sum().item<double>() / std::log(2.0);
  return {shares, entropy + 0.0};  // + 0.0: -0.0 becomes 0
}
