// swiglu_op.cpp: the operator course::swiglu, registered with PyTorch's dispatcher. This file is
// the shared library course_ops17: the lesson binary links it, and Python loads it with
// torch.ops.load_library. What it registers, in the order PyTorch looks for it:
//   TORCH_LIBRARY(course, m)                  the schema: a name and typed arguments
//   TORCH_LIBRARY_IMPL(course, Autograd, m)   the gradient: a torch::autograd::Function
//   TORCH_LIBRARY_IMPL(course, CPU | CUDA, m) the kernels, chosen by the tensors' device
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <atomic>

#include "swiglu.h"
#include "swiglu_cpu.h"

namespace course::ops17 {

void check_inputs(const char* op, const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.sizes() == b.sizes(), op, ": a and b must have the same shape, got ", a.sizes(),
              " and ", b.sizes(), " (it does not broadcast: expand b first)");
  TORCH_CHECK(a.device() == b.device(), op, ": a and b must be on one device, got ", a.device(),
              " and ", b.device(), ": move one with .to()");
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), op, ": a and b must have one dtype, got ",
              a.scalar_type(), " and ", b.scalar_type());
  TORCH_CHECK(a.scalar_type() == at::kFloat || a.scalar_type() == at::kDouble, op,
              " computes in float32 or float64, got ", a.scalar_type(),
              ": convert with .to(torch::kFloat)");
}

// ==== The CPU kernels ============================================================================
#if defined(COURSE_OPS17_AVX2)
void swiglu_forward_avx2(const float* a, const float* b, float* out, int64_t n);
void swiglu_backward_avx2(const float* grad, const float* a, const float* b, float* grad_a,
                          float* grad_b, int64_t n);
bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#else
bool cpu_has_avx2() {
  return false;
}
#endif

const char* cpu_kernel_name() {
  return cpu_has_avx2() ? "avx2" : "default";
}

// at::parallel_for is an inline template: its threads come from OpenMP only when this file is
// compiled with -fopenmp (lesson.cmake links OpenMP::OpenMP_CXX). Without it, it runs every range
// on the calling thread, silently. This asks it how many threads took part.
int64_t cpu_threads_used(int64_t n) {
  std::atomic<int64_t> threads{0};
  at::parallel_for(0, n, kGrainSize, [&](int64_t, int64_t) {
    int64_t seen = threads.load();
    const int64_t mine = at::get_thread_num() + 1;
    while (mine > seen && !threads.compare_exchange_weak(seen, mine)) {
    }
  });
  return threads.load();
}

at::Tensor swiglu_cpu(const at::Tensor& a, const at::Tensor& b) {
  check_inputs("course::swiglu", a, b);
  TORCH_CHECK(a.is_cpu(), "course::swiglu's CPU kernel got a tensor on ", a.device());
  // The loops walk memory in order: a non-contiguous input (a transpose, a slice) is copied first.
  const at::Tensor x = a.contiguous();
  const at::Tensor y = b.contiguous();
  at::Tensor out = at::empty(x.sizes(), x.options());  // contiguous, whatever a's strides were
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "swiglu_cpu", [&] {
    if constexpr (std::is_same_v<scalar_t, float>) {
      if (cpu_has_avx2()) {
        swiglu_forward_avx2(x.data_ptr<float>(), y.data_ptr<float>(), out.data_ptr<float>(),
                            x.numel());
        return;
      }
    }
    swiglu_forward_loop(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                        x.numel());
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> swiglu_backward_cpu(const at::Tensor& grad, const at::Tensor& a,
                                                       const at::Tensor& b) {
  check_inputs("course::swiglu_backward", a, b);
  check_inputs("course::swiglu_backward", grad, a);
  TORCH_CHECK(a.is_cpu(), "course::swiglu_backward's CPU kernel got a tensor on ", a.device());
  const at::Tensor g = grad.contiguous();  // often not: the gradient of a sum is an expand
  const at::Tensor x = a.contiguous();
  const at::Tensor y = b.contiguous();
  at::Tensor grad_a = at::empty(x.sizes(), x.options());
  at::Tensor grad_b = at::empty(x.sizes(), x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "swiglu_backward_cpu", [&] {
    if constexpr (std::is_same_v<scalar_t, float>) {
      if (cpu_has_avx2()) {
        swiglu_backward_avx2(g.data_ptr<float>(), x.data_ptr<float>(), y.data_ptr<float>(),
                             grad_a.data_ptr<float>(), grad_b.data_ptr<float>(), x.numel());
        return;
      }
    }
    swiglu_backward_loop(g.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(),
                         grad_a.data_ptr<scalar_t>(), grad_b.data_ptr<scalar_t>(), x.numel());
  });
  return {grad_a, grad_b};
}

// ==== Autograd: forward saves a and b, backward calls the fused backward operator ================
// The backward is an operator of its own (course::swiglu_backward) with a CPU and a CUDA kernel,
// so the dispatcher picks the device for the backward pass too, and one pass computes both
// gradients. Python: torch.library.register_autograd(..., backward, setup_context=...).
class SwiGLUFunction : public torch::autograd::Function<SwiGLUFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a,
                            const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    // Below the Autograd key: the call goes on to the CPU or CUDA kernel instead of back here.
    at::AutoDispatchBelowADInplaceOrView guard;
    static const auto op = c10::Dispatcher::singleton()
                               .findSchemaOrThrow("course::swiglu", "")
                               .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
    return op.call(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    static const auto op = c10::Dispatcher::singleton()
                               .findSchemaOrThrow("course::swiglu_backward", "")
                               .typed<std::tuple<at::Tensor, at::Tensor>(
                                   const at::Tensor&, const at::Tensor&, const at::Tensor&)>();
    auto [grad_a, grad_b] = op.call(grad_outputs[0], saved[0], saved[1]);
    return {grad_a, grad_b};
  }
};

at::Tensor swiglu_autograd(const at::Tensor& a, const at::Tensor& b) {
  return SwiGLUFunction::apply(a, b);
}

// The thin C++ wrapper: one typed handle to the operator, looked up once, called like a function.
at::Tensor swiglu(const at::Tensor& a, const at::Tensor& b) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("course::swiglu", "")
                             .typed<at::Tensor(const at::Tensor&, const at::Tensor&)>();
  return op.call(a, b);
}

}  // namespace course::ops17

// ==== Registration: runs when the library is loaded (static initialisers) =======================
// The namespace `course` may be defined by one TORCH_LIBRARY only, in the whole process.
TORCH_LIBRARY(course, m) {
  m.def("swiglu(Tensor a, Tensor b) -> Tensor");
  m.def("swiglu_backward(Tensor grad, Tensor a, Tensor b) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(course, CPU, m) {
  m.impl("swiglu", &course::ops17::swiglu_cpu);
  m.impl("swiglu_backward", &course::ops17::swiglu_backward_cpu);
}

#if defined(COURSE_OPS17_CUDA)
TORCH_LIBRARY_IMPL(course, CUDA, m) {
  m.impl("swiglu", &course::ops17::swiglu_cuda);
  m.impl("swiglu_backward", &course::ops17::swiglu_backward_cuda);
}
#endif

TORCH_LIBRARY_IMPL(course, Autograd, m) {
  m.impl("swiglu", &course::ops17::swiglu_autograd);
}
