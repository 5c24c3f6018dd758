// Solution of exercise 19.2: unscale, look for inf/NaN, then skip-and-halve or count-and-grow.
#include <torch/torch.h>

#include <vector>

struct LossScale {
  double scale = 65536.0;  // what the loss is multiplied by before backward
  int64_t good_steps = 0;  // steps in a row without inf or NaN since the scale last changed
};

bool scaler_step(const std::vector<torch::Tensor>& grads, LossScale& state,
                 int64_t growth_interval) {
  bool found_inf = false;
  for (const auto& grad : grads) {
    grad.mul_(1.0 / state.scale);
    found_inf = found_inf || !torch::isfinite(grad).all().item<bool>();  // inf or NaN
  }
  if (found_inf) {  // skip the step, try a smaller scale
    state.scale *= 0.5;
    state.good_steps = 0;
    return false;
  }
  if (++state.good_steps == growth_interval) {  // long enough without overflow: try larger
    state.scale *= 2.0;
    state.good_steps = 0;
  }
  return true;
}
