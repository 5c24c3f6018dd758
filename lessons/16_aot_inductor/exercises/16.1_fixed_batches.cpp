// Exercise 16.1: run any number of images through a model compiled for one batch size.
//
// export.py gives the batch dimension a torch.export.Dim, so lesson 16's package runs any batch.
// A package exported without one (or on a runtime that wants static shapes) accepts exactly the
// batch it was compiled for, and refuses every other. Write run_fixed_batches(images, batch,
// forward): images (B, ...) with any B >= 1, `forward` the compiled model, which must be called
// with exactly `batch` rows each time. Cut images into chunks of `batch` rows in order, pad the
// last chunk with rows of zeros up to `batch`, call forward on every chunk, concatenate the
// outputs along dimension 0 and drop the padded rows: return (B, ...), row i the answer for
// image i. No call may be wasted: B = 8 with batch 4 is two calls, not three.
// Python:  torch.cat([forward(F.pad(c, (0, 0) * (c.dim() - 1) + (0, batch - len(c))))
//                     for c in images.split(batch)])[:B]
//
// Check it: ./course check 16.1     A hint: ./course hint 16.1
#include <torch/torch.h>

#include <functional>

torch::Tensor run_fixed_batches(const torch::Tensor& images, int64_t batch,
                                const std::function<torch::Tensor(const torch::Tensor&)>& forward) {
  // TODO: replace this line with your code.
  return forward(images.slice(/*dim=*/0, 0, batch));
}
