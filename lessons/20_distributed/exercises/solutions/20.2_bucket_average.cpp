// Solution of exercise 20.2: make the buckets, then per bucket cat, sum over ranks, / W, copy back.
#include <torch/torch.h>

#include <numeric>
#include <vector>

std::vector<std::vector<size_t>> average_in_buckets(
    std::vector<std::vector<torch::Tensor>>& rank_grads, int64_t bucket_bytes) {
  // 1. Buckets, from rank 0's shapes (every rank has the same).
  std::vector<std::vector<size_t>> buckets(1);
  int64_t filled = 0;
  for (size_t p = 0; p < rank_grads[0].size(); ++p) {
    const auto bytes = static_cast<int64_t>(rank_grads[0][p].nbytes());
    if (filled > 0 && filled + bytes > bucket_bytes) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(p);
    filled += bytes;
  }
  // 2. and 3. Per bucket: flatten and cat on each rank, sum over ranks, / W, copy back.
  const auto world = static_cast<double>(rank_grads.size());
  for (const auto& bucket : buckets) {
    torch::Tensor sum;
    for (const auto& grads : rank_grads) {
      std::vector<torch::Tensor> flat;
      for (const size_t p : bucket) flat.push_back(grads[p].flatten());
      const auto packed = torch::cat(flat);  // (numbers in the bucket)
      sum = sum.defined() ? sum + packed : packed;
    }
    const auto mean = sum / world;  // what every rank holds after all-reduce(SUM) and / W
    for (auto& grads : rank_grads) {
      int64_t offset = 0;
      for (const size_t p : bucket) {
        grads[p].copy_(mean.slice(0, offset, offset + grads[p].numel()).view_as(grads[p]));
        offset += grads[p].numel();
      }
    }
  }
  return buckets;
}
