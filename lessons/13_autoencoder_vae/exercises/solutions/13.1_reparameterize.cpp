// Solution of exercise 13.1: z = mean + exp(0.5 * logvar) * noise, the noise outside the graph.
#include <torch/torch.h>

torch::Tensor reparameterize(const torch::Tensor& mean, const torch::Tensor& logvar,
                             torch::Tensor noise = {}) {
  if (!noise.defined()) noise = torch::randn_like(mean);  // Python: if noise is None
  const auto std = torch::exp(0.5 * logvar);              // sigma, (B, L)
  return mean + std * noise;  // dz/dmean = 1, dz/dlogvar = 0.5 sigma noise
}
