// Solution of exercise 01.1: (N, 1, D) - (1, M, D) broadcasts to (N, M, D); square, sum over D,
// take the root.
#include <torch/torch.h>

using torch::indexing::None;
using torch::indexing::Slice;

torch::Tensor pairwise_distances(const torch::Tensor& points, const torch::Tensor& centers) {
  const auto difference = points.index({Slice(), None}) - centers.index({None});  // (N, M, D)
  return difference.pow(2).sum(/*dim=*/-1).sqrt();                                // (N, M)
}
