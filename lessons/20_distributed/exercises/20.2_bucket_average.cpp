// Exercise 20.2: average the gradients over the ranks, in buckets, as DDP's all-reduce does.
//
// After backward(), each of the W ranks holds its own gradients; before the optimizer's step
// every rank must hold their mean. DDP does not all-reduce tensor by tensor: it packs the
// gradients, in parameter order, into buckets of about `bucket_bytes`, flattens and concatenates
// each bucket into one tensor, all-reduces that (a SUM over the ranks: Gloo has no AVG), divides
// by W and copies the slices back. Here the ranks are simulated in one process:
// rank_grads[r][p] is rank r's gradient of parameter p (every rank has the same shapes). Write
// average_in_buckets(rank_grads, bucket_bytes):
//   1. buckets: parameter indices in order; start a new bucket when adding the next gradient's
//      nbytes() would make a non-empty bucket exceed bucket_bytes (one larger than bucket_bytes
//      gets a bucket of its own; no bucket is empty)
//   2. per bucket: each rank's torch::cat of its flattened gradients; their sum over the ranks
//      is what the all-reduce would give every rank; divide by W
//   3. copy the mean's slices back into every rank's gradients, in place (copy_), so the
//      tensors the optimizer holds see it
// Return the buckets (their parameter indices). Lesson 20: make_buckets and average_gradients.
// Python:  DDP(model, bucket_cap_mb=...); dist.all_reduce(flat); flat /= W
//
// Check it: ./course check 20.2     A hint: ./course hint 20.2
#include <torch/torch.h>

#include <numeric>
#include <vector>

std::vector<std::vector<size_t>> average_in_buckets(
    std::vector<std::vector<torch::Tensor>>& rank_grads, int64_t bucket_bytes) {
  // TODO: replace these lines with your code (one bucket of everything, nothing averaged yet).
  std::vector<size_t> everything(rank_grads.front().size());
  std::iota(everything.begin(), everything.end(), size_t{0});
  return {everything};
}
