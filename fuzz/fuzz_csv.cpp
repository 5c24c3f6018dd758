// Fuzz target: lesson 06's CSV dataset, read_csv (course::read_csv_integers and the lesson's own
// checks), on 2x2 images so that small inputs reach every check: "label,p1,p2,p3,p4" rows.
#define COURSE_TESTING  // the lesson's functions without its main
#include "06_datasets/main.cpp"

#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto path = course::fuzz::scratch_folder() / "dataset.csv";
  course::fuzz::write_input(path, data, size);
  try {
    FashionMnistDataset dataset = read_csv(path, /*height=*/2, /*width=*/2);
    for (size_t i = 0; i < *dataset.size(); ++i) dataset.get(i);
  } catch (const std::exception&) {  // std::runtime_error, or c10::Error from TORCH_CHECK
  }
  return 0;
}
