// files.h: the one way the course writes a file, so that a full disk, a kill or Ctrl-C never
// costs a learner a good file: checkpoints, metrics.csv and every PNG go through here.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace cv {
class Mat;  // <opencv2/core.hpp>; only files.cpp needs all of it
}

namespace course {

/// Writes `bytes` to `path` atomically: to "<path>.tmp" in the same folder (so the same file
/// system), every write checked, flushed to the disk (fsync), read back and compared, then renamed
/// over `path`, which replaces the file in one step. Ctrl-C (SIGINT) or SIGTERM arriving meanwhile
/// takes effect once the rename is done. On any failure (a full disk: "No space left on device")
/// removes the .tmp, leaves a previous file at `path` as it was, and throws std::runtime_error that
/// names the file, the reason and what to do. Python: write to tmp; os.fsync; os.replace(tmp, path)
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

/// Appends `bytes` to the end of the existing file `path` (a row of metrics.csv). On failure cuts
/// the file back to its length before, so it never ends in half a row, and throws as above.
void append_to_file(const std::filesystem::path& path, std::string_view bytes);

/// An 8-bit image (gray, BGR or BGRA, as OpenCV keeps colour) as the bytes of a PNG file (libpng).
std::string encode_png(const cv::Mat& image);

/// Reads a PNG file (libpng) as an 8-bit cv::Mat: gray as 1 channel, colour as BGR, with alpha as
/// BGRA, as cv::imread(path, cv::IMREAD_UNCHANGED) would for 8-bit files. Throws naming the file.
cv::Mat read_png(const std::filesystem::path& path);

/// Encodes an 8-bit image (gray, or BGR as OpenCV keeps colour) as a PNG in memory and writes it
/// with write_file_atomically; creates the folder. Python: PIL's image.save(path)
void write_png(const cv::Mat& image, const std::filesystem::path& path);

/// The whole file as bytes; throws std::runtime_error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace course
