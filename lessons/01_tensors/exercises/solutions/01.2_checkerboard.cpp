// Solution of exercise 01.2: row + column by broadcasting, then "is it even" as a float.
#include <torch/torch.h>

torch::Tensor checkerboard(int64_t n) {
  const auto rows = torch::arange(n).reshape({n, 1});      // (n, 1)
  const auto columns = torch::arange(n).reshape({1, n});   // (1, n)
  return ((rows + columns) % 2 == 0).to(torch::kFloat32);  // (n, n)
}
