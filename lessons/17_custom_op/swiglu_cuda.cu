// swiglu_cuda.cu: the CUDA kernels of course::swiglu, compiled by nvcc when COURSE_CUDA_ENABLED
// (cmake/CourseCuda.cmake) and registered for the CUDA key in swiglu_op.cpp. One thread per
// element, in a grid-stride loop: each thread reads a and b once and writes out once, as on the
// CPU.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "swiglu.h"

namespace course::ops17 {
namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

template <typename T>
__global__ void swiglu_forward_kernel(const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const T x = a[i];
    out[i] = x * sigmoid(x) * b[i];
  }
}

template <typename T>
__global__ void swiglu_backward_kernel(const T* grad, const T* a, const T* b, T* grad_a, T* grad_b,
                                       int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const T x = a[i];
    const T s = sigmoid(x);
    grad_a[i] = grad[i] * b[i] * s * (T(1) + x * (T(1) - s));
    grad_b[i] = grad[i] * x * s;
  }
}

// Enough blocks to fill the GPU a few times over; the grid-stride loop covers the rest.
unsigned blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  const int64_t enough = 32LL * at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, enough)));
}

}  // namespace

at::Tensor swiglu_cuda(const at::Tensor& a, const at::Tensor& b) {
  check_inputs("course::swiglu", a, b);
  TORCH_CHECK(a.is_cuda(), "course::swiglu's CUDA kernel got a tensor on ", a.device());
  const c10::cuda::CUDAGuard guard(a.device());  // launch on a's GPU, not the current one
  const at::Tensor x = a.contiguous();
  const at::Tensor y = b.contiguous();
  at::Tensor out = at::empty(x.sizes(), x.options());
  const int64_t n = x.numel();
  if (n == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "swiglu_cuda", [&] {
    swiglu_forward_kernel<scalar_t>
        <<<blocks_for(n), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
            x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), n);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

std::tuple<at::Tensor, at::Tensor> swiglu_backward_cuda(const at::Tensor& grad, const at::Tensor& a,
                                                        const at::Tensor& b) {
  check_inputs("course::swiglu_backward", a, b);
  check_inputs("course::swiglu_backward", grad, a);
  TORCH_CHECK(a.is_cuda(), "course::swiglu_backward's CUDA kernel got a tensor on ", a.device());
  const c10::cuda::CUDAGuard guard(a.device());
  const at::Tensor g = grad.contiguous();
  const at::Tensor x = a.contiguous();
  const at::Tensor y = b.contiguous();
  at::Tensor grad_a = at::empty(x.sizes(), x.options());
  at::Tensor grad_b = at::empty(x.sizes(), x.options());
  const int64_t n = x.numel();
  if (n == 0) return {grad_a, grad_b};
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "swiglu_backward_cuda", [&] {
    swiglu_backward_kernel<scalar_t>
        <<<blocks_for(n), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
            g.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(),
            grad_a.data_ptr<scalar_t>(), grad_b.data_ptr<scalar_t>(), n);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {grad_a, grad_b};
}

}  // namespace course::ops17
