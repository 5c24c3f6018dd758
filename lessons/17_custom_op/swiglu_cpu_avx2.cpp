// swiglu_cpu_avx2.cpp: the float32 CPU loops of swiglu_cpu.h compiled for AVX2 + FMA (lesson.cmake
// adds -mavx2 -mfma and CPU_CAPABILITY=AVX2 to this file only). swiglu_op.cpp calls these only
// when the CPU has both, so the library still runs on an older x86-64 CPU.
#include "swiglu_cpu.h"

namespace course::ops17 {

void swiglu_forward_avx2(const float* a, const float* b, float* out, int64_t n) {
  swiglu_forward_loop(a, b, out, n);
}

void swiglu_backward_avx2(const float* grad, const float* a, const float* b, float* grad_a,
                          float* grad_b, int64_t n) {
  swiglu_backward_loop(grad, a, b, grad_a, grad_b, n);
}

}  // namespace course::ops17
