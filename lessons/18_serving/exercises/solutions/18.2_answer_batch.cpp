// Solution of exercise 18.2: torch::stack, one forward pass, softmax, then row i to caller i.
#include <torch/torch.h>

#include <functional>
#include <vector>

struct BatchAnswer {
  torch::Tensor probabilities;  // (10)
  int64_t label = 0;
  double probability = 0;
};

std::vector<BatchAnswer> answer_batch(
    const std::vector<torch::Tensor>& images,
    const std::function<torch::Tensor(const torch::Tensor&)>& model) {
  const auto probabilities = model(torch::stack(images)).softmax(/*dim=*/1);  // (B, 10)
  std::vector<BatchAnswer> answers;
  for (size_t i = 0; i < images.size(); ++i) {
    const auto row = probabilities[static_cast<int64_t>(i)];  // (10)
    const int64_t label = row.argmax().item<int64_t>();
    answers.push_back({row, label, row[label].item<double>()});
  }
  return answers;
}
