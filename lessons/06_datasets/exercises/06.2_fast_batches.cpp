// Exercise 06.2: the fast path's batches, by index_select.
//
// When the whole split fits in memory as one tensor, an epoch needs no Dataset and no loader:
// shuffle the indices, cut them into batches, and pick each batch's rows with index_select.
// Write fast_batches(images, labels, order, batch_size): images (N, 1, H, W) float, labels (N,)
// int64, order (N,) int64 (a permutation of 0..N-1, e.g. from torch::randperm). Return the
// batches in order: batch k holds the samples order[k * batch_size], order[k * batch_size + 1],
// ..., each as a pair {images (B, 1, H, W), labels (B,)}. Every sample is in exactly one batch:
// when N is not a multiple of batch_size, the last batch is smaller.
// Python:  [(images[i], labels[i]) for i in order.split(batch_size)]
//
// Check it: ./course check 06.2     A hint: ./course hint 06.2
#include <torch/torch.h>

#include <utility>
#include <vector>

std::vector<std::pair<torch::Tensor, torch::Tensor>> fast_batches(const torch::Tensor& images,
                                                                  const torch::Tensor& labels,
                                                                  const torch::Tensor& order,
                                                                  int64_t batch_size) {
  // TODO: replace this line with your code.
  return {};
}
