// Fuzz target: course::read_idx, the Fashion-MNIST IDX reader (gzip or plain). Any input must end
// in a tensor or a std::runtime_error that names the file; never a crash, a leak, a read out of
// bounds or undefined behaviour, and never an allocation the input's size does not justify.
#include <torch/torch.h>

#include <stdexcept>

#include "course/fashion_mnist.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = course::fuzz::scratch_folder() / "images-idx3-ubyte.gz";
  course::fuzz::write_input(path, data, size);
  try {
    const torch::Tensor images = course::read_idx(path);
    // Touch every byte: a tensor that claims more than its buffer holds shows up here.
    if (images.numel() > 0) images.sum().item<int64_t>();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
