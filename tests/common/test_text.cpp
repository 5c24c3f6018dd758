// Unit tests of common/include/course/text.h: UTF-8 decoding and encoding, and reading fortune
// files, on crafted text and on Debian's real fortunes and fortunes-zh.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "course/text.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;

namespace {

class Fortunes : public course::testing::ScratchDir {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
};

}  // namespace

TEST(Utf8, AsciiIsOneCodePointPerByte) {
  EXPECT_EQ(course::decode_utf8("Hi %"), U"Hi %");
}

TEST(Utf8, AChineseCharacterIsOneCodePointFromThreeBytes) {
  const std::string line = "床前明月光";  // 5 characters, 15 bytes
  ASSERT_EQ(line.size(), 15u);
  const std::u32string points = course::decode_utf8(line);
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[0], U'\u5E8A');  // 床
  EXPECT_EQ(points[4], U'\u5149');  // 光
  EXPECT_EQ(course::encode_utf8(points), line);
}

TEST(Utf8, EveryLengthRoundTrips) {
  const std::u32string points = {U'A', U'\u00E9', U'\u4E2D', U'\U0001F600', U'\U0010FFFF'};
  const std::string bytes = course::encode_utf8(points);
  EXPECT_EQ(bytes.size(), 1u + 2u + 3u + 4u + 4u);
  EXPECT_EQ(course::decode_utf8(bytes), points);
}

TEST(Utf8, InvalidBytesAreRefusedNamingTheOffset) {
  const std::pair<std::string, std::string> cases[] = {
      {"ab\x80", "byte 2: a continuation byte without a lead byte"},
      {"a\xE5\xBA", "byte 1: the text ends inside a character"},
      {"\xE5(x", "byte 0: a character is cut short"},
      {"\xC0\xAF", "byte 0: an overlong encoding"},
      {"\xED\xA0\x80", "byte 0: a UTF-16 surrogate"},
      {"\xF4\x90\x80\x80", "byte 0: a value above U+10FFFF"},
      {"\xFF", "byte 0: not a lead byte"},
  };
  for (const auto& [bytes, message] : cases) {
    try {
      course::decode_utf8(bytes);
      ADD_FAILURE() << "accepted invalid UTF-8, expected: " << message;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(course::encode_utf8(std::u32string(1, char32_t{0x110000})), std::invalid_argument);
}

TEST_F(Fortunes, EntriesAreSplitAtPercentLinesAndCleaned) {
  const auto path = write("toy",
                          "first line\nsecond line\n%\n%\n\x1b[32m\xE3\x80\x8A"
                          "title\xE3\x80\x8B\x1b[m\nbody  \n\n%\nlast\n");
  const auto entries = course::read_fortunes(path);
  ASSERT_EQ(entries.size(), 3u);  // the empty entry between two % lines is skipped
  EXPECT_EQ(entries[0], "first line\nsecond line");
  EXPECT_EQ(entries[1], "\xE3\x80\x8Atitle\xE3\x80\x8B\nbody");  // colours gone, end trimmed
  EXPECT_EQ(entries[2], "last");
}

TEST_F(Fortunes, BadFilesGetAClearError) {
  const auto expect_error = [](const fs::path& path, const std::string& message) {
    try {
      course::read_fortunes(path);
      ADD_FAILURE() << "read " << path << " without an error";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
  };
  expect_error(dir_ / "missing", "cannot open");
  expect_error(write("empty", "%\n\n%\n"), "holds no entry");
  expect_error(write("latin1", "ok\n%\ncaf\xE9 au lait\n"), "line 3: invalid UTF-8 at byte 3");
}

TEST(RealFortunes, Tang300HoldsThe313PoemsInChinese) {
  course::Options options;
  const fs::path dir = course::find_fortunes(options, {"tang300", "computers"});
  const auto poems = course::read_fortunes(dir / "tang300");
  EXPECT_EQ(poems.size(), 313u);
  // The first poem: its title line, in 《》, without the colour escapes of the file.
  const std::u32string first = course::decode_utf8(poems.front());
  EXPECT_EQ(first.front(), U'\u300A');  // 《
  EXPECT_EQ(poems.front().find('\x1b'), std::string::npos);
  const auto computers = course::read_fortunes(dir / "computers");
  EXPECT_GT(computers.size(), 1000u);
}

TEST(RealFortunes, AMissingCollectionNamesThePackages) {
  course::Options options;
  try {
    course::find_fortunes(options, {"no-such-collection"});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("fortunes-zh"), std::string::npos) << e.what();
  }
}
