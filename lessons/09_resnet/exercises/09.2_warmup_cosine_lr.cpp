// Exercise 09.2: the learning rate of step `step`: a linear warm-up, then a cosine decay.
//
// Write warmup_cosine_lr(peak, step, warmup_steps, total_steps), steps counted from 0:
//   - the first warmup_steps steps grow linearly up to the peak: step s < warmup_steps gets
//     peak * (s + 1) / warmup_steps, so step 0 already trains (peak / warmup_steps, not 0) and
//     step warmup_steps - 1 gets the peak;
//   - then a cosine falls from the peak towards 0 over the remaining T = total_steps - warmup_steps
//     steps: with t = step - warmup_steps (0, 1, ...), the rate is
//     peak * 0.5 * (1 + cos(pi * t / T)).
// Python:  SequentialLR(optimizer, [LinearLR(optimizer, start_factor=1 / W, total_iters=W - 1),
//                       CosineAnnealingLR(optimizer, T_max=total - W)], milestones=[W])
// Write the cosine out (std::cos, M_PI from <cmath>).
//
// Check it: ./course check 09.2     A hint: ./course hint 09.2
#include <cmath>
#include <cstdint>

double warmup_cosine_lr(double peak, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  // TODO: replace this line with your code.
  return peak;
}
