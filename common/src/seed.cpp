// seed.cpp: seeding every generator LibTorch has.
#include "course/seed.h"

#include <torch/torch.h>

namespace course {

void seed_everything(std::uint64_t seed) {
  torch::manual_seed(seed);  // the CPU generator, and CUDA's when a GPU is present
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

}  // namespace course
