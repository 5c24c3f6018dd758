// Exercise 07.2: evaluating a model in batches: eval() mode, no gradients, exact averages.
//
// Write evaluate_in_batches(model, x, y, batch_size): x (N, 784) or (N, 1, 28, 28) inputs, y (N,)
// int64 labels. Run the model on batch_size rows at a time (the last batch may be smaller) and
// return the mean cross-entropy loss over all N samples and the accuracy (the fraction of rows
// whose largest logit stands at the label), as doubles.
//   - Switch dropout off while evaluating (model->eval()), and hand the model back in train()
//     mode: the training loop goes on with it.
//   - Keep autograd out of it (torch::NoGradGuard): nothing here will call backward().
//   - The loss is the mean over the N samples, not the mean of the batches' means: a last,
//     smaller batch must not count as much as a full one. Sum per batch, divide by N at the end.
// Python:  model.eval()
//          with torch.no_grad(): logits = model(x)
//          loss = F.cross_entropy(logits, y).item()
//          accuracy = (logits.argmax(1) == y).float().mean().item()
//          model.train()
//
// Check it: ./course check 07.2     A hint: ./course hint 07.2
#include <torch/torch.h>

#include "07_mlp/mlp.h"

struct EvalScore {
  double loss = 0, accuracy = 0;
};

EvalScore evaluate_in_batches(course::Mlp& model, const torch::Tensor& x, const torch::Tensor& y,
                              int64_t batch_size) {
  // TODO: replace this line with your code.
  return {0.0, 0.0};
}
