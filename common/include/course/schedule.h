// schedule.h: learning-rate helpers that lessons 05, 07 and 08 share (lesson 07 explains them).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace course {

/// Cosine schedule: base_lr at step 0, falling to 0 at step total_steps.
/// Python: the value torch.optim.lr_scheduler.CosineAnnealingLR(T_max=total_steps) has after
/// `step` calls of scheduler.step().
double cosine_lr(double base_lr, int64_t step, int64_t total_steps);

/// Sets the learning rate of every parameter group. Python: for g in opt.param_groups: g["lr"] = lr
void set_lr(torch::optim::Optimizer& optimizer, double lr);

}  // namespace course
