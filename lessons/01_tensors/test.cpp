// Lesson 01's promises: every EXAMPLE main.cpp prints gives what Python PyTorch gives for the same
// Python text (values AND dtypes, from golden.json, keyed by that text), the same seed gives
// Python's random numbers, from_blob shares memory while clone() copies, and a cv::Mat can be seen
// as a tensor without a copy.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <set>
#include <string>
#include <vector>

#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

const Golden& golden() {
  static const Golden file("01_tensors");
  return file;
}

// golden.h's paths put '/' between keys, so reference.py stores a '/' of the Python text as %2F.
std::string golden_key(const std::string& python) {
  std::string key;
  for (char c : python) {
    key += c == '/' ? "%2F" : c == '%' ? "%25" : std::string(1, c);
  }
  return key;
}

// Every example of a section against golden.json's value for its Python text: as many examples as
// reference.py evaluated, no Python text twice, the same dtype, the same values (NaN where Python
// has NaN; AllClose alone lets a NaN through).
void ExpectMatchesPython(const std::string& section, const std::vector<Example>& examples) {
  EXPECT_EQ(static_cast<double>(examples.size()), golden().scalar(section + "/inputs/count"))
      << section << ": main.cpp and reference.py have a different number of examples";
  std::set<std::string> seen;
  for (const Example& example : examples) {
    SCOPED_TRACE(section + ": " + example.python + " | " + example.cpp);
    EXPECT_TRUE(seen.insert(example.python).second) << "the same Python text twice";
    const std::string path = section + "/outputs/" + golden_key(example.python);
    ASSERT_TRUE(golden().has(path)) << "reference.py has no example with this Python text";
    const torch::Tensor expected = golden().tensor(path);
    EXPECT_EQ(course::dtype_name(example.value.scalar_type()),
              course::dtype_name(expected.scalar_type()));
    EXPECT_TRUE(AllClose(example.value, expected, /*rtol=*/1e-5, /*atol=*/1e-6));
    if (expected.is_floating_point() && example.value.sizes() == expected.sizes()) {
      EXPECT_TRUE(example.value.isnan().equal(expected.isnan())) << "NaN in other places";
    }
  }
}

class Tensors : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
};

}  // namespace

// ---- The examples, section by section ---------------------------------------------------------

TEST_F(Tensors, CreatingMatchesPython) {
  ExpectMatchesPython("creating", creating());
}

TEST_F(Tensors, SameSeedGivesPythonsRandomNumbers) {
  const auto seed = static_cast<uint64_t>(golden().scalar("random/inputs/seed"));
  const std::vector<Example> first = random_numbers(seed);
  ExpectMatchesPython("random", first);
  const std::vector<Example> again = random_numbers(seed);
  ASSERT_EQ(first.size(), again.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(first[i].value.equal(again[i].value));
  EXPECT_FALSE(random_numbers(seed + 1)[0].value.equal(first[0].value));
}

TEST_F(Tensors, DtypeRulesMatchPython) {
  ExpectMatchesPython("dtypes", dtypes());
}

TEST_F(Tensors, ShapesMatchPython) {
  ExpectMatchesPython("shapes", shapes());
}

TEST_F(Tensors, IndexingMatchesPython) {
  ExpectMatchesPython("indexing", indexing());
}

TEST_F(Tensors, BroadcastingMatchesPythonAndCdist) {
  const std::vector<Example> examples = broadcasting();
  ExpectMatchesPython("broadcasting", examples);
  // The broadcast distances are cdist's, LibTorch's own function for them.
  EXPECT_TRUE(AllClose(examples.at(4).value, examples.at(5).value, 1e-5, 1e-5));
}

TEST_F(Tensors, ReductionsMatchPython) {
  ExpectMatchesPython("reductions", reductions());
}

TEST_F(Tensors, InPlaceOpsMatchPython) {
  const std::vector<Example> examples = in_place();
  ExpectMatchesPython("in_place", examples);
  EXPECT_TRUE(examples.back().value.item<bool>()) << "in-place ops must keep the same memory";
}

TEST_F(Tensors, FromBlobBorrowsAndCloneOwnsAsInPython) {
  ExpectMatchesPython("memory", memory());
}

// ---- The macro: the C++ label is the code
// --------------------------------------------------------

TEST_F(Tensors, ExampleLabelsAreTheCodeThatRan) {
  const std::vector<Example> examples = indexing();
  EXPECT_EQ(examples.at(2).python, "x[:, 0]");
  EXPECT_EQ(examples.at(2).cpp, "x.index({Slice(), 0})");
  const Example example = EXAMPLE("shape", torch::arange(6).reshape({2, 3}).sizes());
  EXPECT_EQ(example.cpp, "torch::arange(6).reshape({2, 3}).sizes()");
  EXPECT_FALSE(example.is_tensor);
  EXPECT_TRUE(example.value.equal(torch::tensor({2, 3})));
}

TEST_F(Tensors, ExampleKeepsTheValueItHadWhenItRan) {
  torch::Tensor v = torch::zeros({2});
  const Example before = EXAMPLE("v", v);
  v.add_(1);
  EXPECT_TRUE(before.value.equal(torch::zeros({2})));
}

// ---- std::vector and cv::Mat -------------------------------------------------------------------

TEST_F(Tensors, GradientImageMatchesPython) {
  const auto height = static_cast<int64_t>(golden().scalar("gradient/inputs/height"));
  const auto width = static_cast<int64_t>(golden().scalar("gradient/inputs/width"));
  const torch::Tensor expected = golden().tensor("gradient/outputs/image");
  const torch::Tensor image = gradient_image(height, width);
  EXPECT_EQ(image.scalar_type(), expected.scalar_type());
  EXPECT_TRUE(AllClose(image, expected));
}

TEST_F(Tensors, ViewMatSharesACroppedMatsPixels) {
  // A 4x6 three-channel image, then a 2x3 crop of it: the crop's rows are not contiguous.
  cv::Mat image(4, 6, CV_8UC3);
  for (int row = 0; row < image.rows; ++row) {
    for (int col = 0; col < image.cols; ++col) {
      image.at<cv::Vec3b>(row, col) = cv::Vec3b(row, col, row * 10 + col);
    }
  }
  const cv::Mat crop = image(cv::Rect(/*x=*/2, /*y=*/1, /*width=*/3, /*height=*/2));
  ASSERT_FALSE(crop.isContinuous());
  const auto view = view_mat(crop);  // (2, 3, 3), BGR
  ASSERT_EQ(view.sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(view[1][2][0].item<int>(), 2);   // crop (1, 2) is image (2, 4): B = row 2,
  EXPECT_EQ(view[1][2][1].item<int>(), 4);   // G = column 4,
  EXPECT_EQ(view[1][2][2].item<int>(), 24);  // R = 2 * 10 + 4
  // course::from_mat copies (and turns BGR into RGB, channels first): compare with that.
  const auto copied = course::from_mat(crop.clone());  // (3, 2, 3), RGB
  EXPECT_TRUE(view.flip({2}).permute({2, 0, 1}).equal(copied));
  // No copy: a change to the image shows through the view.
  image.at<cv::Vec3b>(2, 4)[2] = 99;
  EXPECT_EQ(view[1][2][2].item<int>(), 99);
  EXPECT_THROW(view_mat(cv::Mat(2, 2, CV_32FC1)), c10::Error);
}

TEST_F(Tensors, ToMatAndFromMatRoundTripTheGradient) {
  const auto image = gradient_image(/*height=*/8, /*width=*/10);
  const cv::Mat mat = course::to_mat(image);
  EXPECT_EQ(mat.rows, 8);
  EXPECT_EQ(mat.cols, 10);
  EXPECT_EQ(mat.channels(), 3);
  EXPECT_TRUE(course::from_mat(mat).equal((image * 255).round().to(torch::kUInt8)));
}
