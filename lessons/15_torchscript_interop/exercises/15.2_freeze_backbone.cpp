// Exercise 15.2: transfer learning's two stages: freeze the backbone, train the head; then all.
//
// Write prepare_stage(model, frozen) for lesson 08's Cnn, whose new head is the submodule "head":
//   - frozen = true (stage 1): every parameter whose name does not start with "head." stops
//     requiring a gradient (requires_grad false); the head's keep requiring one. Put the model in
//     train() (dropout on), but each batch norm whose weight is frozen back in eval(): in train()
//     it would still update its running statistics, and the "frozen" backbone would change.
//   - frozen = false (stage 2): every parameter requires a gradient again, the whole model in
//     train(), batch norms included.
// Return the parameters the optimizer should get: the head's when frozen, all of them otherwise.
// Python:  for name, p in model.named_parameters():
//              p.requires_grad_(not frozen or name.startswith("head."))
//          model.train(); for bn in (model.bn1, model.bn2): bn.train(bn.weight.requires_grad)
//
// Check it: ./course check 15.2     A hint: ./course hint 15.2
#include <torch/torch.h>

#include <vector>

#include "08_cnn/cnn.h"

std::vector<torch::Tensor> prepare_stage(course::Cnn& model, bool frozen) {
  // TODO: replace this line with your code.
  return model->parameters();
}
