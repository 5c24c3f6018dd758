// course_doctor: prints what the C++ side of the course links against and sees: LibTorch version,
// BLAS and oneDNN, CUDA/cuDNN it was built with, GPUs, threads. `./course doctor` runs it.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <iostream>

#include "course/lesson.h"

int main() {
  fmt::print("LibTorch (compiled against): {}\n", course::torch_version());
  fmt::print("MKL: {}  oneDNN (MKLDNN): {}  OpenMP: {}\n", at::hasMKL() ? "yes" : "no",
             at::hasMKLDNN() ? "yes" : "no", at::hasOpenMP() ? "yes" : "no");
  fmt::print("CUDA available: {}  GPUs: {}  cuDNN available: {}\n",
             torch::cuda::is_available() ? "yes" : "no",
             torch::cuda::is_available() ? torch::cuda::device_count() : 0,
             torch::cuda::cudnn_is_available() ? "yes" : "no");
  fmt::print("intra-op threads: {}  inter-op threads: {}\n", at::get_num_threads(),
             at::get_num_interop_threads());
  // show_config() lists BLAS_INFO, CUDA_VERSION and CUDNN_VERSION as LibTorch was built.
  std::cout << "--- at::show_config() ---\n" << at::show_config();
  return 0;
}
