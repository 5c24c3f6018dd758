// Fuzz target: the checkpoint loader, course::checkpoint_from_bytes (what open_checkpoint does to
// a file's bytes): the checksum check, then LibTorch's parser, then reading what 07 reads. The
// first input byte picks the path: even, the bytes as they are (nearly every change is refused by
// the checksum, as on a learner's machine); odd, the rest of the input sealed with a fresh
// checksum first (course::add_checksum), so that changed archives reach the parser behind it.
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "course/checkpoint.h"
#include "fuzz_input.h"

namespace {

// Reads what lesson 07's load_checkpoint reads, whatever the types turn out to be.
void read_like_a_lesson(torch::serialize::InputArchive& archive) {
  for (const char* key : {"format", "architecture", "settings", "value"}) {
    c10::IValue value;
    if (archive.try_read(key, value) && value.isString()) value.toStringRef().size();
  }
  torch::Tensor tensor;
  if (archive.try_read("history", tensor) && tensor.dim() == 2) course::rows_from_tensor(tensor);
  torch::serialize::InputArchive model;
  if (archive.try_read("model", model))
    course::read_module_tensor(model, "layers.0.weight", tensor);
  for (const auto& key : archive.keys()) archive.try_read(key, tensor);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    try {
      bytes = course::add_checksum(bytes);
    } catch (const std::invalid_argument&) {  // not a zip that ends as LibTorch writes one
      return 0;
    }
  }
  try {
    auto archive = course::checkpoint_from_bytes(bytes, "fuzz.pt", torch::kCPU);
    read_like_a_lesson(archive);
  } catch (const std::exception&) {  // std::runtime_error, c10::Error
  }
  return 0;
}
