// Exercise 05.2: accuracy of a batch of predictions.
//
// Write accuracy(logits, labels): logits (B, C), labels (B) int64. The predicted class of a row is
// the index of its largest logit. Return the fraction of rows whose prediction equals the label,
// as a double between 0 and 1 (3 right out of 4 is 0.75).
//
// Check it: ./course check 05.2     A hint: ./course hint 05.2
#include <torch/torch.h>

double accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  // TODO: replace this line with your code.
  return labels.numel() > 0 ? 0.0 : 1.0;
}
