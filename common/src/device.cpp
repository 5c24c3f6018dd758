// device.cpp: --device parsing.
#include "course/device.h"

#include <fmt/format.h>

#include <stdexcept>

namespace course {

torch::Device choose_device(const std::string& spec) {
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (spec == "auto") return gpus > 0 ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec.rfind("cuda", 0) == 0) {
    int index = 0;
    if (spec.size() > 4) {
      const std::string number = spec.substr(spec.size() > 5 && spec[4] == ':' ? 5 : 4);
      if (spec[4] != ':' || number.empty() ||
          number.find_first_not_of("0123456789") != std::string::npos || number.size() > 3) {
        throw std::invalid_argument(
            fmt::format("--device '{}' is not valid: use auto, cpu, cuda or cuda:N", spec));
      }
      index = std::stoi(number);
    }
    if (gpus == 0) {
      throw std::invalid_argument(fmt::format(
          "--device {} asked for a GPU, but LibTorch sees none (a CPU-only LibTorch, or no "
          "NVIDIA driver); use --device cpu, or see ./course doctor",
          spec));
    }
    if (index >= gpus) {
      throw std::invalid_argument(fmt::format(
          "--device {}: there are only {} GPU(s), cuda:0 to cuda:{}", spec, gpus, gpus - 1));
    }
    return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(index));
  }
  throw std::invalid_argument(
      fmt::format("--device '{}' is not valid: use auto, cpu, cuda or cuda:N", spec));
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

std::string describe_device(const torch::Device& device) {
  return device.str();
}

}  // namespace course
