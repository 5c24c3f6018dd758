// data.h: finding a dataset folder (flag, then $COURSE_DATA_DIR, then the repo's datasets/, then
// /usr/share/datasets and /usr/share/games), with an error that says how to get the data.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace course {

/// Returns the folder named `name` (e.g. "fashion-mnist") that holds every file in `required`.
/// `data_dir` is the --data-dir value: when not empty it is the only place searched, and it must
/// exist. Throws std::runtime_error naming the places searched and the command that gets the data.
std::filesystem::path find_dataset(const std::string& name, const std::string& data_dir,
                                   const std::vector<std::string>& required);

/// The folders searched when no --data-dir is given, in order. Throws when $COURSE_DATA_DIR is set
/// to something that is not a folder.
std::vector<std::filesystem::path> dataset_search_path();

/// The folder where the build put what Python exported for `lesson` (lesson 15's TorchScript
/// files, ...): $COURSE_EXPORTED_DIR/<lesson> when that is set (tools/gpu-check carries these
/// files to another machine), else <build folder>/exported/<lesson>.
std::filesystem::path exported_dir(const std::string& lesson);

}  // namespace course
