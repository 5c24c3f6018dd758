// Exercise 01.2: a checkerboard from two aranges.
//
// Write checkerboard(n): an (n, n) float32 tensor with 1 where row + column is even and 0 where
// it is odd, so the top-left corner is 1:
//   1 0 1
//   0 1 0
//   1 0 1
// Build it from torch::arange and broadcasting (a column (n, 1) plus a row (1, n)), with no loop.
//
// Check it: ./course check 01.2     A hint: ./course hint 01.2
#include <torch/torch.h>

torch::Tensor checkerboard(int64_t n) {
  // TODO: replace this line with your code.
  return torch::ones({n, n});
}
