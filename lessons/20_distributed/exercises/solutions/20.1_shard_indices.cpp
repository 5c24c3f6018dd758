// Solution of exercise 20.1: cut or pad to a multiple of W, then every W-th index from `rank`.
#include <torch/torch.h>

torch::Tensor shard_indices(const torch::Tensor& order, int64_t rank, int64_t world_size,
                            bool drop_last) {
  const int64_t n = order.size(0);
  if (drop_last) {
    const int64_t used = n / world_size * world_size;
    return order.slice(/*dim=*/0, rank, used, world_size);  // Python: order[rank:used:W]
  }
  const int64_t total = (n + world_size - 1) / world_size * world_size;        // ceil(N / W) * W
  const auto padded = order.repeat({(total + n - 1) / n}).slice(0, 0, total);  // (total)
  return padded.slice(/*dim=*/0, rank, total, world_size);
}
