// measure.h: lesson 19's measuring tools: the machine's matmul peak, and the profiler's events
// summed per op class. main.cpp uses them in its step 2.
#pragma once

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "course/device.h"
#include "course/timer.h"

// GFLOP/s of an n x n matmul in `dtype`: the peak a conv (a matmul underneath) could reach.
double matmul_gflops(torch::ScalarType dtype, torch::Device device, int64_t n, int reps) {
  const auto a = torch::rand({n, n}, torch::TensorOptions(device).dtype(dtype));
  const auto b = torch::rand({n, n}, a.options());
  auto c = torch::matmul(a, b);  // warm-up
  course::synchronize(device);
  course::Stopwatch clock;
  for (int i = 0; i < reps; ++i) c = torch::matmul(a, b);
  course::synchronize(device);
  return 2.0 * static_cast<double>(n * n * n) * reps / clock.seconds() / 1e9;
}

// The class of a profiled op, by its name ("aten::conv2d", "ConvolutionBackward0", ...).
std::string op_class(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  for (const auto& [key, op] :
       std::vector<std::pair<std::string, std::string>>{{"optimizer", "optimizer"},
                                                        {"conv", "convolution"},
                                                        {"batch_norm", "batch norm"},
                                                        {"batchnorm", "batch norm"},
                                                        {"pool", "max pooling"},
                                                        {"mm", "linear"},
                                                        {"linear", "linear"},
                                                        {"relu", "relu"},
                                                        {"threshold", "relu"},
                                                        {"entropy", "loss"},
                                                        {"softmax", "loss"},
                                                        {"nll", "loss"}})
    if (name.find(key) != std::string::npos) return op;
  return "other";
}

// Seconds per op class of the top-level ops (those no other op called) in the profiler's events:
// aten::conv2d includes the aten::mkldnn_convolution it calls, so only the outermost op counts.
std::map<std::string, double> seconds_by_class(
    const std::vector<torch::autograd::profiler::KinetoEvent>& events) {
  std::vector<const torch::autograd::profiler::KinetoEvent*> cpu_ops;
  for (const auto& e : events)
    if (e.deviceType() == c10::DeviceType::CPU) cpu_ops.push_back(&e);
  std::sort(cpu_ops.begin(), cpu_ops.end(), [](auto* a, auto* b) {
    return std::pair(a->startThreadId(), a->startNs()) <
           std::pair(b->startThreadId(), b->startNs());
  });
  std::map<std::string, double> seconds;
  uint64_t thread = 0, outer_end = 0;  // the end of the current top-level op on this thread
  for (const auto* e : cpu_ops) {
    if (e->startThreadId() != thread) thread = e->startThreadId(), outer_end = 0;
    if (e->startNs() < outer_end) continue;  // called by the op before: already counted
    outer_end = e->endNs();
    seconds[op_class(e->name())] += static_cast<double>(e->durationNs()) / 1e9;
  }
  return seconds;
}
