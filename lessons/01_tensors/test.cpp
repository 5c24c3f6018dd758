// Lesson 01's promises: its tensor recipes give what Python PyTorch gives (values AND dtypes, from
// tests/golden/01_tensors.json), from_blob shares memory while clone() copies, and the printer
// prints what the lesson's README shows.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "course/image.h"
#include "golden.h"
#include "tensors.h"

using course::testing::AllClose;
using course::testing::Golden;
namespace tensors = course::tensors;

namespace {

const Golden& golden() {
  static const Golden file("01_tensors");
  return file;
}

// Same dtype as the golden (what Python computed) and the same values within a tolerance.
::testing::AssertionResult MatchesGolden(const torch::Tensor& actual, const std::string& path,
                                         double rtol = 1e-5, double atol = 1e-6) {
  const torch::Tensor expected = golden().tensor(path);
  if (actual.scalar_type() != expected.scalar_type()) {
    return ::testing::AssertionFailure()
           << path << ": dtype " << tensors::dtype_name(actual.scalar_type()) << " != Python's "
           << tensors::dtype_name(expected.scalar_type());
  }
  auto result = AllClose(actual, expected, rtol, atol);
  if (!result) result << " (" << path << ")";
  return result;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Printing

TEST(Tensors, DtypeNamesArePythonNames) {
  EXPECT_EQ(tensors::dtype_name(torch::kFloat32), "float32");
  EXPECT_EQ(tensors::dtype_name(torch::kInt64), "int64");
  EXPECT_EQ(tensors::dtype_name(torch::kUInt8), "uint8");
  EXPECT_EQ(tensors::dtype_name(torch::kBool), "bool");
  EXPECT_EQ(tensors::describe(torch::zeros({2, 3}, torch::kFloat64)), "float64 [2, 3]");
  EXPECT_EQ(tensors::describe(torch::tensor(1.0F)), "float32 []");
}

TEST(Tensors, FormatValuesAlignsNestedRows) {
  EXPECT_EQ(tensors::format_values(torch::arange(12).reshape({3, 4})),
            "[[ 0,  1,  2,  3],\n [ 4,  5,  6,  7],\n [ 8,  9, 10, 11]]");
  EXPECT_EQ(tensors::format_values(torch::tensor({-1.5, 2.25}), /*decimals=*/2), "[-1.50,  2.25]");
  EXPECT_EQ(tensors::format_values(torch::tensor({true, false})), "[ true, false]");
  EXPECT_EQ(tensors::format_values(torch::tensor(7)), "7");
  // A 3-D tensor: one blank line between its matrices.
  EXPECT_EQ(tensors::format_values(torch::arange(4).reshape({2, 1, 2})),
            "[[[0, 1]],\n\n [[2, 3]]]");
}

TEST(Tensors, FormatValuesReadsNonContiguousTensors) {
  // A permuted view has the values in a different order in memory; the printer must not care.
  EXPECT_EQ(tensors::format_values(torch::arange(6).reshape({2, 3}).t()),
            "[[0, 3],\n [1, 4],\n [2, 5]]");
}

// ---------------------------------------------------------------------------------------------
// dtypes

TEST(Tensors, DtypeRulesMatchPython) {
  const auto ints = golden().tensor("dtypes/inputs/ints");
  const auto floats = golden().tensor("dtypes/inputs/floats");
  ASSERT_EQ(ints.scalar_type(), torch::kInt64);
  ASSERT_EQ(floats.scalar_type(), torch::kFloat32);
  const auto out = tensors::dtype_examples(ints, floats);
  EXPECT_TRUE(MatchesGolden(out.truncated, "dtypes/outputs/truncated"));
  EXPECT_TRUE(MatchesGolden(out.promoted, "dtypes/outputs/promoted"));
  EXPECT_TRUE(MatchesGolden(out.divided, "dtypes/outputs/divided"));
  EXPECT_TRUE(MatchesGolden(out.floor_divided, "dtypes/outputs/floor_divided"));
  EXPECT_TRUE(MatchesGolden(out.as_double, "dtypes/outputs/as_double"));
}

TEST(Tensors, DtypeExamplesRejectSwappedArguments) {
  EXPECT_THROW(tensors::dtype_examples(torch::ones({2}), torch::ones({2})), c10::Error);
  EXPECT_THROW(tensors::dtype_examples(torch::arange(2), torch::arange(2)), c10::Error);
}

// ---------------------------------------------------------------------------------------------
// Indexing

class IndexingMatchesPython : public ::testing::TestWithParam<std::string> {};

TEST_P(IndexingMatchesPython, EveryExpression) {
  const std::string name = GetParam();
  const auto x = golden().tensor(name + "/inputs/x");
  const torch::Tensor before = x.clone();
  const auto out = tensors::indexing_examples(x, golden().scalar(name + "/inputs/threshold"));
  const std::string expected = name + "/outputs/";
  EXPECT_TRUE(MatchesGolden(out.row, expected + "row"));
  EXPECT_TRUE(MatchesGolden(out.column, expected + "column"));
  EXPECT_TRUE(MatchesGolden(out.block, expected + "block"));
  EXPECT_TRUE(MatchesGolden(out.last, expected + "last"));
  EXPECT_TRUE(MatchesGolden(out.unsqueezed, expected + "unsqueezed"));
  EXPECT_TRUE(MatchesGolden(out.masked, expected + "masked"));
  EXPECT_TRUE(MatchesGolden(out.edited, expected + "edited"));
  EXPECT_TRUE(x.equal(before)) << "indexing_examples must not change its input";
}

INSTANTIATE_TEST_SUITE_P(Tensors, IndexingMatchesPython,
                         ::testing::Values("indexing_int", "indexing_float"));

TEST(Tensors, BasicSlicesAreViewsOfTheSameMemory) {
  // x[:, 0] is a view: writing through it changes x (Python behaves the same).
  torch::Tensor x = torch::arange(12).reshape({3, 4});
  const auto out = tensors::indexing_examples(x, /*threshold=*/5);
  out.column.fill_(-9);
  EXPECT_EQ(x.index({torch::indexing::Slice(), 0}).sum().item<int64_t>(), -27);
  // A boolean mask gives a copy instead.
  out.masked.fill_(0);
  EXPECT_EQ(x.index({1, 3}).item<int64_t>(), 7);
}

TEST(Tensors, IndexingExamplesRejectAOneDimensionalTensor) {
  EXPECT_THROW(tensors::indexing_examples(torch::arange(5), 1), c10::Error);
}

// ---------------------------------------------------------------------------------------------
// Broadcasting

TEST(Tensors, PairwiseDistancesMatchPythonAndCdist) {
  const auto a = golden().tensor("pairwise/inputs/a");  // (5, 2)
  const auto b = golden().tensor("pairwise/inputs/b");  // (3, 2)
  const auto distances = tensors::pairwise_distances(a, b);
  EXPECT_TRUE(MatchesGolden(distances, "pairwise/outputs/distances"));
  EXPECT_TRUE(AllClose(distances, torch::cdist(a, b), 1e-5, 1e-5));
}

TEST(Tensors, PairwiseDistancesExplainAShapeMismatch) {
  try {
    tensors::pairwise_distances(torch::ones({4, 2}), torch::ones({3, 3}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("same D"), std::string::npos);
  }
}

TEST(Tensors, NormalizeRowsMatchesPythonAndKeepsZeroRows) {
  const auto x = golden().tensor("normalize/inputs/x");
  const auto normalized = tensors::normalize_rows(x);
  EXPECT_TRUE(MatchesGolden(normalized, "normalize/outputs/normalized"));
  EXPECT_TRUE(normalized.isfinite().all().item<bool>());
  const auto lengths = normalized.norm(2, {1});
  EXPECT_TRUE(AllClose(lengths, torch::tensor({1.0F, 1.0F, 0.0F, 1.0F}), 1e-5, 1e-6));
}

TEST(Tensors, GradientImageMatchesPython) {
  const auto height = static_cast<int64_t>(golden().scalar("gradient/inputs/height"));
  const auto width = static_cast<int64_t>(golden().scalar("gradient/inputs/width"));
  EXPECT_TRUE(MatchesGolden(tensors::gradient_image(height, width), "gradient/outputs/image"));
  EXPECT_THROW(tensors::gradient_image(1, 5), c10::Error);
}

// ---------------------------------------------------------------------------------------------
// Reductions and in-place ops

TEST(Tensors, ReductionsMatchPython) {
  const auto x = golden().tensor("reductions/inputs/x");
  const auto out = tensors::summarize(x);
  EXPECT_TRUE(MatchesGolden(out.total, "reductions/outputs/total"));
  EXPECT_TRUE(MatchesGolden(out.column_sums, "reductions/outputs/column_sums"));
  EXPECT_TRUE(MatchesGolden(out.row_means, "reductions/outputs/row_means"));
  EXPECT_TRUE(MatchesGolden(out.row_max, "reductions/outputs/row_max"));
  EXPECT_TRUE(MatchesGolden(out.row_argmax, "reductions/outputs/row_argmax"));
  EXPECT_TRUE(MatchesGolden(out.centered, "reductions/outputs/centered"));
  EXPECT_TRUE(out.row_argmax.equal(x.argmax(1)));
  EXPECT_THROW(tensors::summarize(torch::arange(6).reshape({2, 3})), c10::Error);
}

TEST(Tensors, InPlaceChainChangesTheSameMemory) {
  torch::Tensor x = golden().tensor("inplace/inputs/x");
  const void* memory = x.data_ptr();
  torch::Tensor& result = tensors::scale_shift_clamp_(
      x, golden().scalar("inplace/inputs/scale"), golden().scalar("inplace/inputs/shift"),
      golden().scalar("inplace/inputs/low"), golden().scalar("inplace/inputs/high"));
  EXPECT_EQ(&result, &x);
  EXPECT_EQ(x.data_ptr(), memory);
  EXPECT_TRUE(MatchesGolden(x, "inplace/outputs/x"));
}

// ---------------------------------------------------------------------------------------------
// std::vector and cv::Mat

TEST(Tensors, VectorRoundTripMatchesPython) {
  const auto values_tensor = golden().tensor("vector/inputs/values");
  const auto shape_tensor = golden().tensor("vector/inputs/shape");
  const std::vector<float> values = tensors::to_vector(values_tensor);
  const std::vector<int64_t> shape(shape_tensor.data_ptr<int64_t>(),
                                   shape_tensor.data_ptr<int64_t>() + shape_tensor.numel());
  const auto tensor = tensors::from_vector(values, shape);
  EXPECT_TRUE(MatchesGolden(tensor, "vector/outputs/tensor"));
  EXPECT_EQ(tensors::to_vector(tensor), values);
  EXPECT_THROW(tensors::from_vector(values, {4, 2}), std::invalid_argument);
}

TEST(Tensors, FromVectorOwnsItsMemory) {
  std::vector<float> values = {1, 2, 3, 4};
  const auto owned = tensors::from_vector(values, {2, 2});
  values[0] = 100;
  EXPECT_EQ(owned[0][0].item<float>(), 1.0F);
  // The raw from_blob, without clone(), shares the vector's memory.
  const auto borrowed = torch::from_blob(values.data(), {2, 2}, torch::kFloat32);
  values[3] = -5;
  EXPECT_EQ(borrowed[0][0].item<float>(), 100.0F);
  EXPECT_EQ(borrowed[1][1].item<float>(), -5.0F);
}

TEST(Tensors, ToVectorReadsAPermutedTensorInRowMajorOrder) {
  const auto x = torch::arange(6, torch::kFloat32).reshape({2, 3}).t();  // (3, 2)
  EXPECT_EQ(tensors::to_vector(x), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensors, ViewMatSharesACroppedMatsPixels) {
  // A 4x6 three-channel image, then a 2x3 crop of it: the crop's rows are not contiguous.
  cv::Mat image(4, 6, CV_8UC3);
  for (int row = 0; row < image.rows; ++row) {
    for (int col = 0; col < image.cols; ++col) {
      image.at<cv::Vec3b>(row, col) = cv::Vec3b(row, col, row * 10 + col);
    }
  }
  const cv::Mat crop = image(cv::Rect(/*x=*/2, /*y=*/1, /*width=*/3, /*height=*/2));
  ASSERT_FALSE(crop.isContinuous());
  const auto view = tensors::view_mat(crop);  // (2, 3, 3), BGR
  ASSERT_EQ(view.sizes(), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(view[1][2][0].item<int>(), 2);   // crop (1, 2) is image (2, 4): B = row 2,
  EXPECT_EQ(view[1][2][1].item<int>(), 4);   // G = column 4,
  EXPECT_EQ(view[1][2][2].item<int>(), 24);  // R = 2 * 10 + 4
  // course::from_mat copies (and turns BGR into RGB, channels first): compare with that.
  // (It gets a clone because it converts the colours in its argument's own memory.)
  const auto copied = course::from_mat(crop.clone());  // (3, 2, 3), RGB
  EXPECT_TRUE(view.flip({2}).permute({2, 0, 1}).equal(copied));
  // No copy: a change to the image shows through the view.
  image.at<cv::Vec3b>(2, 4)[2] = 99;
  EXPECT_EQ(view[1][2][2].item<int>(), 99);
  EXPECT_THROW(tensors::view_mat(cv::Mat(2, 2, CV_32FC1)), c10::Error);
}

TEST(Tensors, ToMatAndFromMatRoundTripTheGradient) {
  const auto image = tensors::gradient_image(/*height=*/8, /*width=*/10);
  const cv::Mat mat = course::to_mat(image);
  EXPECT_EQ(mat.rows, 8);
  EXPECT_EQ(mat.cols, 10);
  EXPECT_EQ(mat.channels(), 3);
  const auto back = course::from_mat(mat);
  EXPECT_TRUE(back.equal((image * 255).round().to(torch::kUInt8)));
}
