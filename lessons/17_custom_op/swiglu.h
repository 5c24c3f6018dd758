// swiglu.h: course::swiglu(a, b) = silu(a) * b, one fused operator registered with PyTorch's
// dispatcher by the shared library course_ops17 (swiglu_op.cpp). The lesson binary, its test and
// Python (torch.ops.load_library) all call the same registered operator.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <tuple>

namespace course::ops17 {

/// silu(a) * b = a * sigmoid(a) * b, through the dispatcher (CPU, CUDA and autograd kernels).
/// a and b: one shape, one device, float32 or float64. Python: torch.ops.course.swiglu(a, b).
at::Tensor swiglu(const at::Tensor& a, const at::Tensor& b);

// The kernels the dispatcher calls, one per device; tests call them directly too.
/// CPU forward: at::vec vectors, spread over threads with at::parallel_for.
at::Tensor swiglu_cpu(const at::Tensor& a, const at::Tensor& b);
/// CPU backward: (grad_a, grad_b) from the output's gradient, in one pass over the memory.
std::tuple<at::Tensor, at::Tensor> swiglu_backward_cpu(const at::Tensor& grad, const at::Tensor& a,
                                                       const at::Tensor& b);
/// Which CPU kernel runs float32: "avx2" (compiled with -mavx2 -mfma, chosen when the CPU has
/// them) or "default" (the portable build of the same code).
const char* cpu_kernel_name();
/// How many threads at::parallel_for uses in this library for n elements (1 when it was compiled
/// without OpenMP, or n is at most one grain of 32768).
int64_t cpu_threads_used(int64_t n);

// The CUDA kernels (swiglu_cuda.cu), compiled when COURSE_CUDA_ENABLED (cmake/CourseCuda.cmake).
at::Tensor swiglu_cuda(const at::Tensor& a, const at::Tensor& b);
std::tuple<at::Tensor, at::Tensor> swiglu_backward_cuda(const at::Tensor& grad, const at::Tensor& a,
                                                        const at::Tensor& b);

/// The checks every kernel makes first: one shape, one device, float32 or float64, with a
/// message that says what to do. `op` names the operator in the message.
void check_inputs(const char* op, const at::Tensor& a, const at::Tensor& b);

}  // namespace course::ops17
