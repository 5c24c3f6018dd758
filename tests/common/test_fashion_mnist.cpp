// Unit tests of common/src/fashion_mnist.cpp: read_idx on good, corrupted and truncated IDX files
// (plain and gzip'd), and load_fashion_mnist's checks. Every file is crafted here, in a temp
// folder.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "course/fashion_mnist.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;

namespace {

// The bytes of an IDX file: magic 00 00 <type> <dims>, big-endian sizes, then `data`.
std::string idx_bytes(const std::vector<uint32_t>& sizes, const std::string& data,
                      uint8_t type = 0x08) {
  std::string bytes = {'\0', '\0', static_cast<char>(type), static_cast<char>(sizes.size())};
  for (const uint32_t size : sizes) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((size >> shift) & 0xFF);
  }
  return bytes + data;
}

// n bytes 0, 1, 2, ... (mod 256).
std::string counting(size_t n) {
  std::string data(n, '\0');
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i % 256);
  return data;
}

// A fresh empty folder per test, removed afterwards.
class IdxFiles : public course::testing::ScratchDir {
 protected:
  fs::path write_plain(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
    return dir_ / name;
  }
  fs::path write_gzip(const std::string& name, const std::string& bytes) const {
    gzFile file = gzopen((dir_ / name).c_str(), "wb");
    EXPECT_NE(file, nullptr);
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(file);
    return dir_ / name;
  }
  std::string read_raw(const fs::path& path) const {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  }
};

// read_idx must throw a std::runtime_error whose message names the file and says `what`.
void expect_idx_error(const fs::path& path, const std::string& what) {
  try {
    course::read_idx(path);
    ADD_FAILURE() << "read_idx accepted " << path << ", expected an error about '" << what << "'";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  }
}

}  // namespace

TEST_F(IdxFiles, ReadsPlainAndGzipFiles) {
  const auto bytes = idx_bytes({2, 3, 4}, counting(24));
  const auto expected = torch::arange(24, torch::kUInt8).reshape({2, 3, 4});
  for (const auto& path : {write_plain("a.idx", bytes), write_gzip("a.idx.gz", bytes)}) {
    const auto tensor = course::read_idx(path);
    EXPECT_EQ(tensor.scalar_type(), torch::kUInt8) << path;
    EXPECT_TRUE(tensor.equal(expected)) << path << "\n" << tensor;
  }
}

TEST_F(IdxFiles, ReadsOneDimensionalLabels) {
  const auto tensor = course::read_idx(
      write_gzip("labels.gz", idx_bytes({5}, std::string("\x09\x00\x03\x07\x01", 5))));
  EXPECT_TRUE(tensor.equal(torch::tensor({9, 0, 3, 7, 1}, torch::kUInt8))) << tensor;
}

TEST_F(IdxFiles, ReadsAFileLargerThanOneChunk) {
  // 20 MB: more than the reader's 16 MiB chunk, so the growing buffer is exercised.
  const uint32_t rows = 20 * 1000, cols = 1000;
  const auto tensor =
      course::read_idx(write_gzip("big.gz", idx_bytes({rows, cols}, counting(rows * cols))));
  ASSERT_EQ(tensor.sizes(), torch::IntArrayRef({rows, cols}));
  const int64_t last = int64_t{rows} * cols - 1;
  EXPECT_EQ(tensor.flatten()[last].item<int>(), static_cast<int>(last % 256));
  EXPECT_EQ(tensor.flatten()[12345678].item<int>(), 12345678 % 256);
}

TEST_F(IdxFiles, MissingFileSaysCannotOpen) {
  expect_idx_error(dir_ / "nothing-here.gz", "cannot open");
}

TEST_F(IdxFiles, BadMagicNumberIsRejected) {
  auto bytes = idx_bytes({4}, "abcd");
  bytes[0] = '\x12';
  expect_idx_error(write_plain("magic.idx", bytes), "bad magic number");
  expect_idx_error(write_gzip("magic.gz", bytes), "bad magic number");
}

TEST_F(IdxFiles, WrongTypeCodeIsRejected) {
  // 0x0B is "short (2 bytes)": a valid IDX type, but not the unsigned bytes Fashion-MNIST uses.
  expect_idx_error(write_gzip("short.gz", idx_bytes({2}, "abcd", 0x0B)), "type code 0x0b");
}

TEST_F(IdxFiles, ImplausibleDimensionCountIsRejected) {
  expect_idx_error(write_plain("zero-dims.idx", idx_bytes({}, "")), "0 dimensions");
  expect_idx_error(write_plain("five-dims.idx", idx_bytes({1, 1, 1, 1, 1}, "x")), "5 dimensions");
}

TEST_F(IdxFiles, TruncatedHeaderIsRejected) {
  const auto bytes = idx_bytes({60000, 28, 28}, "");
  expect_idx_error(write_plain("two-bytes.idx", bytes.substr(0, 2)),
                   "ends early while reading the magic");
  expect_idx_error(write_plain("empty.idx", ""), "ends early while reading the magic");
  expect_idx_error(write_gzip("half-sizes.gz", bytes.substr(0, 10)),
                   "ends early while reading the sizes");
}

TEST_F(IdxFiles, TruncatedDataIsRejected) {
  const auto bytes = idx_bytes({10, 28, 28}, counting(10 * 28 * 28 - 1));  // one byte short
  expect_idx_error(write_plain("short.idx", bytes), "ends early while reading the data");
  expect_idx_error(write_gzip("short.gz", bytes), "ends early while reading the data");
}

TEST_F(IdxFiles, TrailingBytesAreRejected) {
  const auto bytes = idx_bytes({3, 2}, counting(6) + "extra");
  expect_idx_error(write_plain("long.idx", bytes), "unexpected bytes after the data");
  expect_idx_error(write_gzip("long.gz", bytes), "unexpected bytes after the data");
}

TEST_F(IdxFiles, AbsurdSizesAreRejectedWithoutAllocating) {
  // A zero size, and products over 2^31 bytes: corrupt headers, not data.
  expect_idx_error(write_plain("zero.idx", idx_bytes({0, 28}, "")), "dimension 0 has size 0");
  expect_idx_error(write_plain("huge.idx", idx_bytes({65536, 65536}, "x")),
                   "the header's sizes 65536 x 65536 make 4.29e+09 bytes");
  expect_idx_error(write_plain("max.idx", idx_bytes({0xFFFFFFFFu}, "x")),
                   "the header's sizes 4294967295 make");
  // A damaged first size with plausible ones after it: the message names all of them, not the
  // innocent 28 that happened to push the product over the limit.
  expect_idx_error(write_plain("first.idx", idx_bytes({0x7FFFFFFFu, 28, 28}, "x")),
                   "the header's sizes 2147483647 x 28 x 28 make 1.68e+12 bytes");
  // Just under the limit (2^31 - 1 bytes claimed, 100 present): the reader must fail on the
  // missing data without first reserving 2 GiB.
  expect_idx_error(write_gzip("claims-2gib.gz", idx_bytes({0x7FFFFFFFu}, counting(100))),
                   "ends early while reading the data");
}

TEST_F(IdxFiles, CorruptGzipIsRejected) {
  // gzread() inflates ahead of what it is asked for, so a small file's damage shows at the first
  // read and a big file's later: both sizes are tried. zlib's own words end up in the message.
  for (const uint32_t side : {64u, 1024u}) {
    const auto name = std::to_string(side);
    const std::string raw =
        read_raw(write_gzip("good" + name + ".gz", idx_bytes({side, side}, counting(side * side))));
    ASSERT_GT(raw.size(), 40u);

    // Bytes inside the deflate stream scrambled.
    std::string scrambled = raw;
    for (size_t i = 12; i < 30; ++i) scrambled[i] = static_cast<char>(scrambled[i] ^ 0x5A);
    expect_idx_error(write_plain("scrambled" + name + ".gz", scrambled), "corrupt data");
    // The compressed stream cut in half.
    expect_idx_error(write_plain("cut" + name + ".gz", raw.substr(0, raw.size() / 2)),
                     "ends early while reading");
    // The CRC-32 in the gzip trailer (the last 8 bytes: CRC, then length) changed: the data
    // inflates fine, only the check at the end of the stream fails.
    std::string bad_crc = raw;
    bad_crc[raw.size() - 8] = static_cast<char>(bad_crc[raw.size() - 8] ^ 0xFF);
    expect_idx_error(write_plain("bad-crc" + name + ".gz", bad_crc), "incorrect data check");
  }
}

// ---- load_fashion_mnist ----------------------------------------------------------------------

class FashionFolder : public IdxFiles {
 protected:
  // Writes train-images (n, rows, cols) and train-labels with the given labels.
  void write_split(uint32_t n, uint32_t rows, uint32_t cols, const std::string& labels) const {
    write_gzip("train-images-idx3-ubyte.gz", idx_bytes({n, rows, cols}, counting(n * rows * cols)));
    write_gzip("train-labels-idx1-ubyte.gz",
               idx_bytes({static_cast<uint32_t>(labels.size())}, labels));
  }
};

TEST_F(FashionFolder, LoadsImagesAndInt64Labels) {
  write_split(4, 28, 28, std::string("\x09\x00\x00\x03", 4));
  const auto split = course::load_fashion_mnist(dir_, /*train=*/true);
  EXPECT_EQ(split.images.sizes(), torch::IntArrayRef({4, 28, 28}));
  EXPECT_EQ(split.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(split.labels.equal(torch::tensor({9, 0, 0, 3}, torch::kInt64)));
  EXPECT_EQ(split.images[1][0][0].item<int>(), (28 * 28) % 256);

  const auto first_two = course::load_fashion_mnist(dir_, /*train=*/true, /*limit=*/2);
  EXPECT_EQ(first_two.images.size(0), 2);
  EXPECT_TRUE(first_two.labels.equal(torch::tensor({9, 0}, torch::kInt64)));
}

TEST_F(FashionFolder, RejectsWrongImageSize) {
  write_split(2, 27, 28, std::string("\x01\x02", 2));
  try {
    course::load_fashion_mnist(dir_, /*train=*/true);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte.gz"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("2x27x28"), std::string::npos) << e.what();
  }
}

TEST_F(FashionFolder, RejectsLabelCountMismatchAndBadLabels) {
  write_split(3, 28, 28, std::string("\x01\x02", 2));
  EXPECT_THROW(course::load_fashion_mnist(dir_, true), std::runtime_error);
  write_split(2, 28, 28, std::string("\x01\x0A", 2));  // label 10
  try {
    course::load_fashion_mnist(dir_, true);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not in 0..9"), std::string::npos) << e.what();
  }
}

TEST_F(FashionFolder, MissingTestSplitNamesTheFile) {
  write_split(1, 28, 28, std::string("\x01", 1));  // only the training split exists
  expect_idx_error(dir_ / "t10k-images-idx3-ubyte.gz", "cannot open");
  EXPECT_THROW(course::load_fashion_mnist(dir_, /*train=*/false), std::runtime_error);
}

// ---- the real dataset, as Debian's dataset-fashion-mnist ships it -------------------------------
// The expected values were read with Python's own reader (course_common.read_idx), a separate
// implementation: a swapped class, a lost image or a wrong constant shows here.

TEST(RealFashionMnist, LabelsAndPixelsAreThoseOfTheDataset) {
  course::Options options;
  const auto train = course::load_fashion_mnist(options, /*train=*/true);
  const auto test = course::load_fashion_mnist(options, /*train=*/false);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{60000, 28, 28}));
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_TRUE(torch::equal(train.labels.slice(0, 0, 12),
                           torch::tensor({9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(test.labels.slice(0, 0, 12),
                           torch::tensor({9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(train.labels.bincount(), torch::full({10}, 6000, torch::kInt64)));
  EXPECT_TRUE(torch::equal(test.labels.bincount(), torch::full({10}, 1000, torch::kInt64)));
  EXPECT_EQ(train.images[0].to(torch::kInt64).sum().item<int64_t>(), 76247);
  EXPECT_EQ(train.images.to(torch::kInt64).sum().item<int64_t>(), 3431114169);
  EXPECT_EQ(test.images[0].to(torch::kInt64).sum().item<int64_t>(), 33456);
  // The first image of each split is an ankle boot, label 9.
  EXPECT_EQ(course::kFashionClasses.at(9), "Ankle boot");
}

TEST(RealFashionMnist, MeanAndStdAreTheTrainingPixels) {
  course::Options options;
  const auto x =
      course::load_fashion_mnist(options, /*train=*/true).images.to(torch::kFloat64) / 255;
  EXPECT_NEAR(x.mean().item<double>(), course::kFashionMean, 5e-5);
  EXPECT_NEAR(x.std().item<double>(), course::kFashionStd, 5e-5);
  const auto normalized = course::normalize_fashion(
      course::load_fashion_mnist(options, /*train=*/true).images.slice(0, 0, 20000));
  EXPECT_NEAR(normalized.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(normalized.std().item<double>(), 1.0, 0.01);
}

TEST(RealFashionMnist, SmokeReadsTheFirst512OfEachSplit) {
  course::Options options;
  options.smoke = true;
  const auto train = course::load_fashion_mnist(options, /*train=*/true);
  EXPECT_EQ(train.images.size(0), course::kSmokeSamples);
  EXPECT_EQ(train.labels.size(0), course::kSmokeSamples);
  EXPECT_EQ(train.labels[0].item<int64_t>(), 9);
  EXPECT_EQ(course::load_fashion_mnist(options, /*train=*/false).images.size(0), 512);
}
