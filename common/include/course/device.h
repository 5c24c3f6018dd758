// device.h: turning --device auto|cpu|cuda[:N] into a torch::Device, with a clear error.
#pragma once

#include <torch/torch.h>

#include <string>

namespace course {

/// Parses a --device value. "auto" picks cuda:0 when LibTorch sees a GPU, else cpu.
/// Throws std::invalid_argument for a malformed value or a GPU that is not there.
torch::Device choose_device(const std::string& spec);

/// Waits until the work queued on `device` is done (a no-op on the CPU). GPU work runs
/// asynchronously: call this before reading a clock, or the time measured is the launch only.
void synchronize(const torch::Device& device);

/// "cpu", "cuda:0": the device as the banner line of every lesson shows it.
std::string describe_device(const torch::Device& device);

}  // namespace course
