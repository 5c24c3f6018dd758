// Exercise 15.1: does a state_dict fit a model? Names and shapes, buffers included.
//
// Write check_state_dict(model, state): `state` maps dotted names to tensors, as Python's
// torch.save(dict(model.state_dict())) writes them and torch::pickle_load reads them back. A
// model's names are those of its parameters AND its buffers (batch norm's running_mean,
// running_var and num_batches_tracked), submodules included: "conv1.weight", "bn1.running_var",
// "head.bias", ... Return three lists of names (any order):
//   missing:    names the model has that the state lacks
//   unexpected: names in the state that the model does not have
//   mismatched: names in both whose shapes differ (a new head with another number of classes)
// A state that fits has all three empty. Do not copy anything: only look. (Python's
// load_state_dict forgives a missing num_batches_tracked; lesson 15's load_state_dict, and this
// check, count it missing like any other name.)
// Python:  result = model.load_state_dict(state, strict=False)   # missing_keys, unexpected_keys
//          mismatched = [n for n, t in model.state_dict().items()
//                        if n in state and state[n].shape != t.shape]
//
// Check it: ./course check 15.1     A hint: ./course hint 15.1
#include <torch/torch.h>

#include <string>
#include <vector>

using NamedTensors = c10::Dict<std::string, torch::Tensor>;  // Python: dict[str, Tensor]

struct StateDictCheck {
  std::vector<std::string> missing, unexpected, mismatched;
};

StateDictCheck check_state_dict(const torch::nn::Module& model, const NamedTensors& state) {
  // TODO: replace this line with your code.
  return {};
}
