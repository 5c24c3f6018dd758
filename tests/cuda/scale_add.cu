// scale_add.cu: a tiny CUDA kernel launched on LibTorch tensors. It exists to prove, on every
// machine with a CUDA toolkit (CI has no GPU), that every build compiles .cu sources with
// nvcc against LibTorch's headers and links them into a test; on a GPU the test also runs it.
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include "scale_add.h"

namespace course::cuda {
namespace {

// One thread per element: y[i] = a * x[i] + b.
__global__ void scale_add_kernel(const float* x, float* y, float a, float b, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + b;
}

}  // namespace

at::Tensor scale_add(const at::Tensor& x, float a, float b) {
  TORCH_CHECK(x.is_cuda(), "scale_add needs a CUDA tensor, got one on ", x.device());
  TORCH_CHECK(x.scalar_type() == at::kFloat, "scale_add needs float32, got ", x.scalar_type());
  const at::Tensor input = x.contiguous();
  at::Tensor output = at::empty_like(input);
  const int64_t n = input.numel();
  if (n == 0) return output;
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned>((n + kThreads - 1) / kThreads);
  // Launch on LibTorch's current stream so the kernel is ordered with LibTorch's own work.
  scale_add_kernel<<<blocks, kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
      input.data_ptr<float>(), output.data_ptr<float>(), a, b, n);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return output;
}

}  // namespace course::cuda
