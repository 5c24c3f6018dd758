// amp.h: lesson 19's mixed-precision tools, which LibTorch's C++ API lacks: an RAII guard for
// autocast (Python's `with torch.autocast(...)`) and a GradScaler (Python's torch.amp.GradScaler)
// built on ATen's two AMP kernels.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

// Autocast on for one scope, the previous state restored when it ends (also by an exception).
// Python: with torch.autocast("cpu", dtype=torch.bfloat16): ...
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, bool enabled, at::ScalarType dtype)
      : device_(device),
        was_enabled_(at::autocast::is_autocast_enabled(device)),
        old_dtype_(at::autocast::get_autocast_dtype(device)) {
    at::autocast::set_autocast_enabled(device, enabled);
    at::autocast::set_autocast_dtype(device, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    // Autocast may cache bf16 copies of the weights; after the step they would be stale.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_, was_enabled_);
    at::autocast::set_autocast_dtype(device_, old_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
  at::ScalarType old_dtype_;
};

// bf16 keeps fp32's range, so the CPU needs no loss scaling; fp16 (CUDA) does.
at::ScalarType autocast_dtype(torch::Device device) {
  return device.is_cuda() ? torch::kHalf : torch::kBFloat16;
}

// Loss scaling for fp16: small gradients would round to 0 in fp16, so the loss is multiplied by
// `scale` before backward, the gradients divided by it before the step. A step whose gradients
// hold an inf or NaN is skipped and the scale halved; after `growth_interval` good steps in a row
// it doubles. LibTorch has no C++ GradScaler: this is Python's torch.amp.GradScaler on ATen's
// kernels.
class GradScaler {
 public:
  explicit GradScaler(torch::Device device, double init_scale = 65536.0, double growth = 2.0,
                      double backoff = 0.5, int64_t growth_interval = 2000)
      : scale_(torch::full({1}, init_scale, torch::TensorOptions(device).dtype(torch::kFloat))),
        growth_tracker_(torch::zeros({1}, scale_.options().dtype(torch::kInt32))),
        found_inf_(torch::zeros({1}, scale_.options())),
        growth_(growth),
        backoff_(backoff),
        growth_interval_(growth_interval) {}

  torch::Tensor scale(const torch::Tensor& loss) const { return loss * scale_; }

  // Unscales the gradients in place and steps only if all are finite; returns whether it stepped.
  bool step(torch::optim::Optimizer& optimizer) {
    std::vector<torch::Tensor> grads;
    for (auto& group : optimizer.param_groups())
      for (auto& p : group.params())
        if (p.grad().defined()) grads.push_back(p.grad());
    found_inf_.zero_();
    const auto inv_scale = scale_.to(torch::kDouble).reciprocal().to(torch::kFloat);
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv_scale);
    const bool finite = found_inf_.item<float>() == 0.0f;  // one read per step, as in Python
    if (finite) optimizer.step();
    return finite;
  }
  // Halves the scale after a skipped step; doubles it after growth_interval good ones.
  void update() {
    at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, growth_, backoff_,
                           growth_interval_);
  }
  double current_scale() const { return scale_.item<double>(); }

 private:
  torch::Tensor scale_, growth_tracker_, found_inf_;
  double growth_, backoff_;
  int64_t growth_interval_;
};
