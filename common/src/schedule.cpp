// schedule.cpp: learning-rate helpers.
#include "course/schedule.h"

#include <algorithm>
#include <cmath>

namespace course {

double cosine_lr(double base_lr, int64_t step, int64_t total_steps) {
  if (total_steps <= 0) return base_lr;
  const double progress = static_cast<double>(std::clamp<int64_t>(step, 0, total_steps)) /
                          static_cast<double>(total_steps);
  return base_lr * 0.5 * (1.0 + std::cos(M_PI * progress));
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace course
