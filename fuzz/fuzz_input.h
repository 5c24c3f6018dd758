// fuzz_input.h: what the fuzz targets share: one scratch folder per process for the readers that
// take a file, and the entry point every target defines (libFuzzer's, or replay_main.cpp's).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace course::fuzz {

/// This process's own scratch folder, made on first use and removed at exit: the readers under
/// test take files, so each input is written to one there first.
inline const std::filesystem::path& scratch_folder() {
  struct Folder {
    std::filesystem::path path;
    Folder() {
      path = std::filesystem::temp_directory_path() / ("course-fuzz-" + std::to_string(::getpid()));
      std::filesystem::create_directories(path);
    }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

/// Writes the input to `path` (replacing it) and returns the path.
inline std::filesystem::path write_input(const std::filesystem::path& path, const uint8_t* data,
                                         size_t size) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace course::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
