// Fuzz target: lesson 06's ImageFolderDataset, root/<class>/<name>.png: the input is the one
// image of class "a" (a 4x4 gray PNG in the seed corpus), read by get() through OpenCV.
#define COURSE_TESTING  // the lesson's functions without its main
#include "06_datasets/main.cpp"

#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto root = course::fuzz::scratch_folder() / "images";
  course::fuzz::write_input(root / "a" / "0.png", data, size);
  try {
    ImageFolderDataset dataset(root, /*height=*/4, /*width=*/4);
    const auto example = dataset.get(0);
    example.data.sum().item<double>();
  } catch (const std::exception&) {  // c10::Error from TORCH_CHECK: not an image, wrong size
  }
  return 0;
}
