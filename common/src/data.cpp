// data.cpp: where datasets are looked for.
#include "course/data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <stdexcept>

#include "course/build_info.h"

namespace fs = std::filesystem;

namespace course {
namespace {

bool has_all(const fs::path& dir, const std::vector<std::string>& required) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return false;
  for (const auto& file : required) {
    if (!fs::is_regular_file(dir / file, error)) return false;
  }
  return true;
}

std::string install_hint(const std::string& name) {
  if (name == "fashion-mnist") {
    return "install it with ./course setup (Debian package dataset-fashion-mnist), or pass "
           "--data-dir FOLDER where FOLDER/fashion-mnist holds the .gz files";
  }
  if (name == "fortunes") {
    return "install them with ./course setup (Debian packages fortunes and fortunes-zh), or pass "
           "--data-dir FOLDER where FOLDER/fortunes holds the collections";
  }
  return fmt::format("see datasets/README.md for how to make it, or pass --data-dir");
}

}  // namespace

std::vector<fs::path> dataset_search_path() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("COURSE_DATA_DIR"); env != nullptr && *env != '\0') {
    // Set on purpose: a folder that is not there is a mistake to report, not to skip.
    std::error_code error;
    if (!fs::is_directory(env, error)) {
      throw std::runtime_error(fmt::format(
          "COURSE_DATA_DIR={} does not exist or is not a folder; fix it, or unset it to use the "
          "installed datasets",
          env));
    }
    dirs.emplace_back(env);
  }
  dirs.emplace_back(fs::path(build_info::kSourceDir) / "datasets");
  dirs.emplace_back("/usr/share/datasets");
  dirs.emplace_back("/usr/share/games");  // Debian's fortunes and fortunes-zh
  return dirs;
}

fs::path exported_dir(const std::string& lesson) {
  const char* env = std::getenv("COURSE_EXPORTED_DIR");
  const fs::path root = env != nullptr && *env != '\0'
                            ? fs::path(env)
                            : fs::path(build_info::kBinaryDir) / "exported";
  return root / lesson;
}

fs::path find_dataset(const std::string& name, const std::string& data_dir,
                      const std::vector<std::string>& required) {
  if (!data_dir.empty()) {
    std::error_code error;
    if (!fs::is_directory(data_dir, error)) {
      throw std::runtime_error(
          fmt::format("--data-dir {} does not exist or is not a folder", data_dir));
    }
    // Accept both --data-dir /usr/share/datasets and --data-dir /usr/share/datasets/fashion-mnist.
    for (const fs::path& candidate : {fs::path(data_dir) / name, fs::path(data_dir)}) {
      if (has_all(candidate, required)) return candidate;
    }
    throw std::runtime_error(
        fmt::format("{} not found in --data-dir {} (looked for {} there and "
                    "in {}/{}); {}",
                    name, data_dir, fmt::join(required, ", "), data_dir, name, install_hint(name)));
  }
  std::vector<std::string> searched;
  for (const fs::path& dir : dataset_search_path()) {
    if (has_all(dir / name, required)) return dir / name;
    searched.push_back((dir / name).string());
  }
  throw std::runtime_error(fmt::format("{} not found (searched {}); {}", name,
                                       fmt::join(searched, ", "), install_hint(name)));
}

}  // namespace course
