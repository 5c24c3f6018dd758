// Exercise 01.1: every distance between two sets of points, by broadcasting.
//
// Write pairwise_distances(points, centers). points is (N, D), centers is (M, D). Return the
// (N, M) tensor whose [i][j] is the Euclidean distance between points[i] and centers[j]:
// sqrt of the sum over d of (points[i][d] - centers[j][d])^2.
// Use broadcasting (lesson 01, section 6), not a loop, and not torch::cdist.
//
// Check it: ./course check 01.1     A hint: ./course hint 01.1
#include <torch/torch.h>

torch::Tensor pairwise_distances(const torch::Tensor& points, const torch::Tensor& centers) {
  // TODO: replace this line with your code.
  return torch::zeros({points.size(0), centers.size(0)});
}
