// swiglu_stable.cpp: course_stable::swiglu, the same forward as course::swiglu, written against
// LibTorch's stable ABI (torch/csrc/stable, PyTorch 2.9 and newer; what this file uses needs 2.10).
// It includes no ATen or c10 header and calls no C++ function of LibTorch: every call goes through
// a C function (torch_call_dispatcher, torch_parallel_for, aoti_torch_*), whose signature PyTorch
// promises to keep. So the library built here against 2.11 loads into any later PyTorch without a
// rebuild, where course_ops17 must be rebuilt for each release (README: "The stable ABI").
// What it leaves out: autograd (reference.py registers a Python backward for it with
// torch.library.register_autograd), CUDA, float64, at::vec.
// lesson.cmake builds it as course_ops17_stable with TORCH_TARGET_VERSION = 2.10, so that using an
// API newer than 2.10 is a compile error here, not a load error on a user's machine.
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/ops.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/core/ScalarType.h>
#include <torch/headeronly/util/Exception.h>

#include <cmath>
#include <cstdint>

using torch::stable::Tensor;

Tensor swiglu_stable_cpu(Tensor a, Tensor b) {
  STD_TORCH_CHECK(a.is_cpu() && b.is_cpu(), "course_stable::swiglu has a CPU kernel only");
  STD_TORCH_CHECK(a.scalar_type() == torch::headeronly::ScalarType::Float &&
                      b.scalar_type() == torch::headeronly::ScalarType::Float,
                  "course_stable::swiglu computes in float32 only: convert with .float()");
  bool same_shape = a.dim() == b.dim();
  for (int64_t d = 0; same_shape && d < a.dim(); ++d) same_shape = a.size(d) == b.size(d);
  STD_TORCH_CHECK(same_shape, "course_stable::swiglu: a and b must have the same shape");
  // Each of these is an ATen op called through the dispatcher's C entry point.
  const Tensor x = torch::stable::contiguous(a);
  const Tensor y = torch::stable::contiguous(b);
  Tensor out = torch::stable::empty_like(x);
  const float* pa = x.const_data_ptr<float>();
  const float* pb = y.const_data_ptr<float>();
  float* po = out.mutable_data_ptr<float>();
  torch::stable::parallel_for(0, x.numel(), /*grain_size=*/32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) po[i] = pa[i] / (1.0F + std::exp(-pa[i])) * pb[i];
  });
  return out;
}

// The stable twins of TORCH_LIBRARY and TORCH_LIBRARY_IMPL. TORCH_BOX wraps the typed function
// into the boxed form (a stack of StableIValue) that crosses the C boundary. A namespace of its
// own, so that both libraries can be loaded into one process (each namespace has one definer).
STABLE_TORCH_LIBRARY(course_stable, m) {
  m.def("swiglu(Tensor a, Tensor b) -> Tensor");
}

STABLE_TORCH_LIBRARY_IMPL(course_stable, CPU, m) {
  m.impl("swiglu", TORCH_BOX(&swiglu_stable_cpu));
}
