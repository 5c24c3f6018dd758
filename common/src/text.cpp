// text.cpp: fortune files and UTF-8.
#include "course/text.h"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <stdexcept>

#include "course/data.h"

namespace fs = std::filesystem;

namespace course {
namespace {

// Removes ESC [ <digits and ;> m sequences (terminal colours).
std::string strip_ansi(const std::string& line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      std::size_t end = i + 2;
      while (end < line.size() &&
             (std::isdigit(static_cast<unsigned char>(line[end])) != 0 || line[end] == ';')) {
        ++end;
      }
      if (end < line.size() && line[end] == 'm') {
        i = end;
        continue;
      }
    }
    out += line[i];
  }
  return out;
}

void trim_end(std::string& text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t' ||
                           text.back() == '\r')) {
    text.pop_back();
  }
}

}  // namespace

std::u32string decode_utf8(std::string_view bytes) {
  std::u32string points;
  points.reserve(bytes.size());
  std::size_t i = 0;
  const auto fail = [&](const char* what) {
    throw std::invalid_argument(fmt::format("invalid UTF-8 at byte {}: {}", i, what));
  };
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    int length = 0;
    char32_t point = 0;
    if (lead < 0x80) {
      length = 1, point = lead;  // ASCII: one byte
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, point = lead & 0x1F;  // 110xxxxx 10xxxxxx
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, point = lead & 0x0F;  // 1110xxxx 10xxxxxx 10xxxxxx: most Chinese characters
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, point = lead & 0x07;  // 11110xxx and three continuation bytes
    } else {
      fail((lead & 0xC0) == 0x80 ? "a continuation byte without a lead byte" : "not a lead byte");
    }
    if (i + length > bytes.size()) fail("the text ends inside a character");
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if ((next & 0xC0) != 0x80) fail("a character is cut short");
      point = (point << 6) | (next & 0x3F);
    }
    static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (point < kSmallest[length]) fail("an overlong encoding");
    if (point >= 0xD800 && point <= 0xDFFF) fail("a UTF-16 surrogate");
    if (point > 0x10FFFF) fail("a value above U+10FFFF");
    points.push_back(point);
    i += static_cast<std::size_t>(length);
  }
  return points;
}

std::string encode_utf8(std::u32string_view points) {
  std::string bytes;
  for (const char32_t point : points) {
    if (point < 0x80) {
      bytes += static_cast<char>(point);
    } else if (point < 0x800) {
      bytes += static_cast<char>(0xC0 | (point >> 6));
      bytes += static_cast<char>(0x80 | (point & 0x3F));
    } else if (point < 0x10000) {
      bytes += static_cast<char>(0xE0 | (point >> 12));
      bytes += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
      bytes += static_cast<char>(0x80 | (point & 0x3F));
    } else if (point <= 0x10FFFF) {
      bytes += static_cast<char>(0xF0 | (point >> 18));
      bytes += static_cast<char>(0x80 | ((point >> 12) & 0x3F));
      bytes += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
      bytes += static_cast<char>(0x80 | (point & 0x3F));
    } else {
      throw std::invalid_argument(
          fmt::format("U+{:X} is not a Unicode code point", static_cast<std::uint32_t>(point)));
    }
  }
  return bytes;
}

std::vector<std::string> read_fortunes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(fmt::format("cannot open {}", path.string()));
  std::vector<std::string> entries;
  std::string entry, line;
  int64_t line_number = 0;
  const auto finish = [&] {
    trim_end(entry);
    if (!entry.empty()) entries.push_back(entry);
    entry.clear();
  };
  while (std::getline(file, line)) {
    ++line_number;
    try {
      decode_utf8(line);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}: line {}: {}; a fortune file must be UTF-8 text",
                                           path.string(), line_number, e.what()));
    }
    if (line == "%") {
      finish();
    } else {
      entry += strip_ansi(line);
      entry += '\n';
    }
  }
  if (file.bad()) throw std::runtime_error(fmt::format("cannot read {}", path.string()));
  finish();
  if (entries.empty()) {
    throw std::runtime_error(
        fmt::format("{} holds no entry (entries are separated by lines "
                    "holding only %)",
                    path.string()));
  }
  return entries;
}

fs::path find_fortunes(const Options& options, const std::vector<std::string>& collections) {
  return find_dataset("fortunes", options.data_dir, collections);
}

}  // namespace course
