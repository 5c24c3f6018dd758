// Solution of exercise 15.2: requires_grad by name, train() for what trains, eval() for frozen
// batch norms.
#include <torch/torch.h>

#include <vector>

#include "08_cnn/cnn.h"

std::vector<torch::Tensor> prepare_stage(course::Cnn& model, bool frozen) {
  for (auto& item : model->named_parameters()) {
    const bool in_head = item.key().rfind("head.", 0) == 0;  // Python: name.startswith("head.")
    item.value().set_requires_grad(!frozen || in_head);
  }
  model->train();
  for (auto bn : {model->bn1, model->bn2}) {
    if (!bn->weight.requires_grad()) bn->eval();  // its running statistics stay as loaded
  }
  return frozen ? model->head->parameters() : model->parameters();
}
