// Solution of exercise 09.2: (step + 1) in the warm-up, then the cosine from its own step 0.
#include <cmath>
#include <cstdint>

double warmup_cosine_lr(double peak, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (step < warmup_steps) return peak * static_cast<double>(step + 1) / warmup_steps;
  const auto progress = static_cast<double>(step - warmup_steps) /
                        static_cast<double>(total_steps - warmup_steps);  // 0 .. 1
  return peak * 0.5 * (1.0 + std::cos(M_PI * progress));
}
