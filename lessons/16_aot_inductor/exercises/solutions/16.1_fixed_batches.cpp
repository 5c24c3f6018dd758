// Solution of exercise 16.1: split, pad the last chunk with zeros, run, concatenate, cut.
#include <torch/torch.h>

#include <functional>

torch::Tensor run_fixed_batches(const torch::Tensor& images, int64_t batch,
                                const std::function<torch::Tensor(const torch::Tensor&)>& forward) {
  const int64_t total = images.size(0);
  std::vector<torch::Tensor> outputs;
  for (const auto& chunk : images.split(batch)) {  // (batch, ...), the last one maybe shorter
    torch::Tensor input = chunk;
    if (chunk.size(0) < batch) {
      auto shape = chunk.sizes().vec();
      shape[0] = batch - chunk.size(0);
      input = torch::cat({chunk, torch::zeros(shape, chunk.options())});  // (batch, ...)
    }
    outputs.push_back(forward(input));
  }
  return torch::cat(outputs).slice(/*dim=*/0, 0, total);  // (B, ...): the padded rows dropped
}
