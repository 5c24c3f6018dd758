// Solution of exercise 15.1: the model's parameters and buffers by name, against the dict's names.
#include <torch/torch.h>

#include <string>
#include <vector>

using NamedTensors = c10::Dict<std::string, torch::Tensor>;  // Python: dict[str, Tensor]

struct StateDictCheck {
  std::vector<std::string> missing, unexpected, mismatched;
};

StateDictCheck check_state_dict(const torch::nn::Module& model, const NamedTensors& state) {
  auto tensors = model.named_parameters();  // recurse: "conv1.weight", ..., "head.bias"
  for (const auto& item : model.named_buffers()) tensors.insert(item.key(), item.value());
  StateDictCheck check;
  for (const auto& item : tensors) {
    if (!state.contains(item.key())) {
      check.missing.push_back(item.key());
    } else if (state.at(item.key()).sizes() != item.value().sizes()) {
      check.mismatched.push_back(item.key());
    }
  }
  for (const auto& entry : state) {
    if (!tensors.contains(entry.key())) check.unexpected.push_back(entry.key());
  }
  return check;
}
