// Exercise 14.2: how spread over the classes a batch of samples is (mode collapse shows as 0 bits).
//
// Write class_spread(logits): logits (N, C), a classifier's scores for N generated images. The
// predicted class of a row is the index of its largest logit. Return
//   shares:       (C) float64, the share of the N images predicted as each class (sums to 1),
//                 with a 0 for a class never predicted: all C classes, the last ones included;
//   entropy_bits: the entropy of that histogram in bits, -sum p log2 p, with 0 log 0 = 0. Ten
//                 classes used equally give log2(10) = 3.32 bits; a generator that draws only bags
//                 gives 0 (not NaN).
// Python:  shares = torch.bincount(logits.argmax(1), minlength=C).double() / N
//          entropy_bits = -torch.xlogy(shares, shares).sum().item() / math.log(2)
//
// Check it: ./course check 14.2     A hint: ./course hint 14.2
#include <torch/torch.h>

struct ClassSpread {
  torch::Tensor shares;     // (C) float64
  double entropy_bits = 0;  // 0 (one class) .. log2(C) (every class equally)
};

ClassSpread class_spread(const torch::Tensor& logits) {
  // TODO: replace this line with your code.
  return {torch::full({logits.size(1)}, 1.0, torch::kFloat64), 1.0};
}
