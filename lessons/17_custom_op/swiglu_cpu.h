// swiglu_cpu.h: the CPU loops of course::swiglu, written once with at::vec::Vectorized<T> and
// compiled twice: in swiglu_op.cpp for any x86-64 or ARM CPU, and in swiglu_cpu_avx2.cpp with
// -mavx2 -mfma. ATen builds its own kernels the same way (once per CPU_CAPABILITY, chosen at run
// time); the inline namespace keeps the two copies apart, as ATen's at::vec does.
#pragma once

#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <cstdint>

namespace course::ops17 {
inline namespace CPU_CAPABILITY {

// Elements per task for at::parallel_for: below this, one thread does the work (starting threads
// costs more than it saves). ATen uses the same order of magnitude (at::internal::GRAIN_SIZE).
constexpr int64_t kGrainSize = 32768;

// sigmoid(x) = 1 / (1 + exp(-x)). exp_u20 is at::vec's fast exp (an error of a few ULP): the
// AVX2 build computes it with FMA instructions, the default build calls std::exp per element.
template <typename T>
at::vec::Vectorized<T> sigmoid(const at::vec::Vectorized<T>& x) {
  const at::vec::Vectorized<T> one(T(1));
  return one / (one + x.neg().exp_u20());
}

// out[i] = a[i] * sigmoid(a[i]) * b[i]: reads a and b once, writes out once. The last vector of a
// task may be partial (n not a multiple of the vector width): loadu/store take a count.
template <typename T>
void swiglu_forward_loop(const T* a, const T* b, T* out, int64_t n) {
  using Vec = at::vec::Vectorized<T>;
  at::parallel_for(0, n, kGrainSize, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i += Vec::size()) {
      const auto count = static_cast<int>(std::min<int64_t>(Vec::size(), end - i));
      const Vec x = Vec::loadu(a + i, count);
      const Vec y = Vec::loadu(b + i, count);
      (x * sigmoid(x) * y).store(out + i, count);
    }
  });
}

// With s = sigmoid(a) and out = a * s * b:
//   d out / d a = b * s * (1 + a * (1 - s))     d out / d b = a * s
// grad_a = grad * b * s * (1 + a * (1 - s)), grad_b = grad * a * s: one pass reads grad, a, b
// and writes both gradients.
template <typename T>
void swiglu_backward_loop(const T* grad, const T* a, const T* b, T* grad_a, T* grad_b, int64_t n) {
  using Vec = at::vec::Vectorized<T>;
  const Vec one(T(1));
  at::parallel_for(0, n, kGrainSize, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i += Vec::size()) {
      const auto count = static_cast<int>(std::min<int64_t>(Vec::size(), end - i));
      const Vec g = Vec::loadu(grad + i, count);
      const Vec x = Vec::loadu(a + i, count);
      const Vec y = Vec::loadu(b + i, count);
      const Vec s = sigmoid(x);
      (g * y * s * (one + x * (one - s))).store(grad_a + i, count);
      (g * x * s).store(grad_b + i, count);
    }
  });
}

}  // namespace CPU_CAPABILITY
}  // namespace course::ops17
