// Tests of the CUDA kernel in scale_add.cu (built wherever nvcc and a CUDA LibTorch are there).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "golden.h"
#include "scale_add.h"

using course::testing::AllClose;

// Runs everywhere it is built, GPU or not: the nvcc-compiled code is linked and its
// argument checks work.
TEST(CudaKernel, RejectsCpuTensors) {
  EXPECT_THROW(course::cuda::scale_add(torch::ones({4}), 2.0f, 1.0f), c10::Error);
}

TEST(CudaKernel, MatchesLibTorch_CUDA) {
  COURSE_REQUIRE_CUDA();
  const auto x = torch::linspace(-3, 3, /*steps=*/10007, torch::kCUDA);  // not a multiple of 256
  const auto y = course::cuda::scale_add(x, 2.5f, -1.0f);
  EXPECT_TRUE(AllClose(y, 2.5 * x - 1.0, 1e-6, 1e-6));
}

TEST(CudaKernel, HandlesNonContiguousInput_CUDA) {
  COURSE_REQUIRE_CUDA();
  const auto x =
      torch::arange(12, torch::dtype(torch::kFloat).device(torch::kCUDA)).reshape({3, 4}).t();
  EXPECT_TRUE(AllClose(course::cuda::scale_add(x, 1.0f, 1.0f), x + 1));
}

TEST(CudaKernel, RejectsOtherDtypes_CUDA) {
  COURSE_REQUIRE_CUDA();
  EXPECT_THROW(course::cuda::scale_add(torch::ones({4}, torch::kCUDA).to(torch::kDouble), 1, 1),
               c10::Error);
}
