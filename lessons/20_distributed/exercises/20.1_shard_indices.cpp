// Exercise 20.1: which images one rank trains on (DistributedSampler's shard).
//
// Every rank shuffles the data set the same way (the same seed), then takes its own shard: every
// W-th index of that order, starting at position `rank` (W = world_size). Strided, not in
// blocks: rank r's k-th image is then the one a single process with batch W x B would have used
// at place W * k + r, which makes W ranks with batch B the same as one process with W x B.
// Write shard_indices(order, rank, world_size, drop_last): order (N) int64, the shuffled
// indices; return this rank's indices, (N / W) or (ceil(N / W)), int64:
//   drop_last true   cut the order to used = N / W * W (integer division), then every W-th
//                    from `rank`: each rank gets N / W, the last N % W indices nobody
//   drop_last false  pad the order to total = ceil(N / W) * W by repeating it from its start
//                    (more than once when N < W), then every W-th from `rank`: each rank gets
//                    ceil(N / W), so a few indices are trained on twice
// Python:  list(DistributedSampler(data, W, rank, seed=seed, drop_last=drop_last))
//          (lesson 20's shard() is the drop_last=True case: order[rank:used:W])
//
// Check it: ./course check 20.1     A hint: ./course hint 20.1
#include <torch/torch.h>

torch::Tensor shard_indices(const torch::Tensor& order, int64_t rank, int64_t world_size,
                            bool drop_last) {
  // TODO: replace these lines with your code (this cuts the order in blocks, one per rank).
  const int64_t n = order.size(0);
  const int64_t per_rank = drop_last ? n / world_size : (n + world_size - 1) / world_size;
  return order.slice(/*dim=*/0, rank * per_rank, (rank + 1) * per_rank);
}
