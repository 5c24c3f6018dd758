// Unit tests of common/src/csv.cpp: read_csv_integers on good files (Windows line ends, empty
// lines, no final newline) and on each kind of bad row, whose error must name the file and line.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "course/csv.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;

namespace {

// A fresh empty folder per test (dir_), removed afterwards.
class Csv : public course::testing::ScratchDir {
 protected:
  fs::path write(const std::string& text) const {
    std::ofstream(dir_ / "table.csv", std::ios::binary) << text;
    return dir_ / "table.csv";
  }
  // The message of the std::runtime_error that reading `text` throws ("" when none).
  std::string error_for(const std::string& text) const {
    try {
      course::read_csv_integers(write(text), 0, 255);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }
};

}  // namespace

TEST_F(Csv, ReadsTheRowsUnderTheHeaderAsInt32) {
  const auto table = course::read_csv_integers(write("label,a,b\n3,0,255\n9,10,20\n"), 0, 255);
  EXPECT_EQ(table.scalar_type(), torch::kInt32);
  EXPECT_TRUE(table.equal(torch::tensor({3, 0, 255, 9, 10, 20}, torch::kInt32).view({2, 3})));
}

TEST_F(Csv, AcceptsWindowsLineEndsEmptyLinesAndNoFinalNewline) {
  const auto table =
      course::read_csv_integers(write("x,y\r\n1,2\r\n\r\n\n3,4\r\n5,6"), /*min=*/0, /*max=*/9);
  EXPECT_TRUE(table.equal(torch::tensor({1, 2, 3, 4, 5, 6}, torch::kInt32).view({3, 2})));
  const auto negative = course::read_csv_integers(write("x\n-7\n"), -10, 10);
  EXPECT_EQ(negative.item<int32_t>(), -7);
}

TEST_F(Csv, BadRowsNameTheLineAndWhatIsWrong) {
  for (const auto& [row, what] : std::vector<std::pair<std::string, std::string>>{
           {"1,2", "2 values, expected 3"},
           {"1,2,3,4", "4 values, expected 3"},
           {"1,2,256", "value 3 (256) is not in 0..255"},
           {"1,-1,2", "value 2 (-1) is not in 0..255"},
           {"1,x,3", "value 2 is not a whole number"},
           {"1,,3", "value 2 is not a whole number"},
           {"1, 2,3", "value 2 is not a whole number"},
           {"1;2;3", "unexpected ';' after value 1"},
           {"1,2.5,3", "unexpected '.' after value 2"}}) {
    const std::string message = error_for("a,b,c\n4,5,6\n\n" + row + "\n");
    EXPECT_NE(message.find("table.csv line 4: "), std::string::npos) << row << ": " << message;
    EXPECT_NE(message.find(what), std::string::npos) << row << ": " << message;
  }
}

TEST_F(Csv, AMissingFileOrOneWithoutRowsIsRefused) {
  EXPECT_NE(error_for("a,b\n\n").find("has no data rows"), std::string::npos);
  EXPECT_NE(error_for("").find("has no data rows"), std::string::npos);
  try {
    course::read_csv_integers(dir_ / "missing.csv", 0, 1);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing.csv"), std::string::npos) << e.what();
  }
}
