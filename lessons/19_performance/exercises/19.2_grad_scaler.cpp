// Exercise 19.2: one step of a GradScaler: unscale, skip on inf or NaN, update the scale.
//
// With fp16, small gradients round to 0, so the loss is multiplied by a large `scale` before
// backward and the gradients divided by it before the step. If any gradient came out inf or NaN
// (the scaled loss overflowed), the step must be skipped and the scale halved; after
// growth_interval good steps in a row the scale doubles. Write scaler_step(grads, state,
// growth_interval), called after backward with the scaled gradients:
//   1. unscale every gradient in place: multiply it by 1 / state.scale (grads[i].mul_(...))
//   2. found_inf: does any gradient hold an inf or a NaN? (torch::isfinite)
//   3. found_inf: state.scale *= 0.5, state.good_steps = 0, return false (skip the step)
//      otherwise: state.good_steps += 1; if it reaches growth_interval, state.scale *= 2 and
//      state.good_steps = 0; return true (the optimizer may step)
// Python:  scaler = torch.amp.GradScaler(init_scale=..., growth_interval=...)
//          scaler.unscale_(optimizer); scaler.step(optimizer); scaler.update()
//
// Check it: ./course check 19.2     A hint: ./course hint 19.2
#include <torch/torch.h>

#include <vector>

struct LossScale {
  double scale = 65536.0;  // what the loss is multiplied by before backward
  int64_t good_steps = 0;  // steps in a row without inf or NaN since the scale last changed
};

bool scaler_step(const std::vector<torch::Tensor>& grads, LossScale& state,
                 int64_t growth_interval) {
  // TODO: replace these lines with your code (this one unscales, and steps whatever came out).
  for (const auto& grad : grads) grad.div_(state.scale);
  return growth_interval > 0;
}
