// Unit tests of course/show.h: the tensor printer lessons use to print what Python would show.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "course/show.h"

namespace {

// What show() prints, as text.
std::string shown(const std::string& label, const torch::Tensor& tensor) {
  ::testing::internal::CaptureStdout();
  course::show(label, tensor);
  std::fflush(stdout);
  return ::testing::internal::GetCapturedStdout();
}

}  // namespace

TEST(Show, DtypeNamesArePythonNames) {
  EXPECT_EQ(course::dtype_name(torch::kFloat32), "float32");
  EXPECT_EQ(course::dtype_name(torch::kFloat64), "float64");
  EXPECT_EQ(course::dtype_name(torch::kInt64), "int64");
  EXPECT_EQ(course::dtype_name(torch::kInt32), "int32");
  EXPECT_EQ(course::dtype_name(torch::kUInt8), "uint8");
  EXPECT_EQ(course::dtype_name(torch::kBool), "bool");
  EXPECT_EQ(course::dtype_name(torch::kBFloat16), "bfloat16");
}

TEST(Show, DescribeGivesDtypeAndShape) {
  EXPECT_EQ(course::describe(torch::zeros({2, 3}, torch::kFloat64)), "float64 [2, 3]");
  EXPECT_EQ(course::describe(torch::tensor(1.0F)), "float32 []");
  EXPECT_EQ(course::describe(torch::zeros({0}, torch::kInt64)), "int64 [0]");
}

TEST(Show, FormatValuesAlignsNestedRows) {
  EXPECT_EQ(course::format_values(torch::arange(12).reshape({3, 4})),
            "[[ 0,  1,  2,  3],\n [ 4,  5,  6,  7],\n [ 8,  9, 10, 11]]");
  EXPECT_EQ(course::format_values(torch::tensor({-1.5, 2.25}), /*decimals=*/2), "[-1.50,  2.25]");
  EXPECT_EQ(course::format_values(torch::tensor({true, false})), "[ true, false]");
  EXPECT_EQ(course::format_values(torch::tensor(7)), "7");
  EXPECT_EQ(course::format_values(torch::zeros({0})), "[]");
  // A 3-D tensor: one blank line between its matrices.
  EXPECT_EQ(course::format_values(torch::arange(4).reshape({2, 1, 2})), "[[[0, 1]],\n\n [[2, 3]]]");
}

TEST(Show, FormatValuesReadsNonContiguousTensors) {
  // A permuted view has the values in a different order in memory; the printer must not care.
  EXPECT_EQ(course::format_values(torch::arange(6).reshape({2, 3}).t()),
            "[[0, 3],\n [1, 4],\n [2, 5]]");
}

TEST(Show, FormatShortGivesSignificantDigitsOnOneLine) {
  EXPECT_EQ(course::format_short(torch::tensor({7.0, 14.0, 21.0})), "[7, 14, 21]");
  EXPECT_EQ(course::format_short(torch::tensor({2.0611537e-9F, 0.31326169F})),
            "[2.061e-09, 0.3133]");
  EXPECT_EQ(course::format_short(torch::arange(4).reshape({2, 2}).t()), "[0, 2, 1, 3]");
  EXPECT_EQ(course::format_short(torch::tensor({1.0 / 3}), /*significant=*/2), "[0.33]");
  EXPECT_EQ(course::format_short(torch::tensor(5)), "[5]");
}

TEST(Show, ShortTensorsFitOnOneLine) {
  EXPECT_EQ(shown("x[1]", torch::tensor({4, 5})), "  x[1] = [4, 5]   int64 [2]\n");
  EXPECT_EQ(shown("m.sum()", torch::tensor(12.0F)), "  m.sum() = 12.0000   float32 []\n");
}

TEST(Show, MatricesGoBelowTheirLabelIndented) {
  EXPECT_EQ(shown("x", torch::arange(4).reshape({2, 2})),
            "  x   int64 [2, 2]\n    [[0, 1],\n     [2, 3]]\n");
}
