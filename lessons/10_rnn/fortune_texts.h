// fortune_texts.h: lesson 10's data, read from Debian's fortunes package: each collection's
// entries as texts of code points with the collection's number as label, balanced (as many of
// each collection as the smallest has), cut, and split at random into train and test texts.
#pragma once

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "course/flags.h"
#include "course/text.h"

constexpr int64_t kSmokeChars = 64;  // --smoke: characters kept per text

struct Text {
  std::u32string chars;  // code points: "é" is one token, not two bytes
  int64_t label;         // the collection's index in the list of collections
};

/// The collections named in `collections` ("art,computers,...") as (train, test) texts: as many
/// of each as the smallest has (--smoke: 512 in all), cut to max_chars (--smoke: at most 64), a
/// random test_share of each collection in the test set. Throws with what to do when a collection
/// is missing, broken (read_fortunes names the file and line) or too small to split.
inline std::pair<std::vector<Text>, std::vector<Text>> load_texts(const course::Options& options,
                                                                  const std::string& collections,
                                                                  double test_share,
                                                                  int64_t max_chars) {
  std::vector<std::string> names;
  std::stringstream list(collections);
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  if (names.size() < 2) throw std::invalid_argument("--collections needs two names or more");
  const auto dir = course::find_fortunes(options, names);  // throws naming the packages
  std::vector<std::vector<std::string>> entries;
  auto per_class = options.smoke ? course::kSmokeSamples / names.size() : SIZE_MAX;
  for (const auto& name : names) {
    entries.push_back(course::read_fortunes(dir / name));  // throws naming the file and line
    per_class = std::min(per_class, entries.back().size());
  }
  const auto test_count = std::llround(test_share * static_cast<double>(per_class));
  if (test_count < 1 || test_count >= static_cast<int64_t>(per_class))
    throw std::runtime_error(
        fmt::format("the smallest collection has {} texts: too few to split "
                    "into train and test; choose other --collections",
                    per_class));
  if (options.smoke) max_chars = std::min(kSmokeChars, max_chars);
  std::vector<Text> train, test;
  for (int64_t label = 0; label < static_cast<int64_t>(names.size()); ++label) {
    const auto order = torch::randperm(static_cast<int64_t>(entries[label].size()), torch::kInt64);
    for (int64_t k = 0; k < static_cast<int64_t>(per_class); ++k) {
      const auto& entry = entries[label][order[k].item<int64_t>()];
      (k < test_count ? test : train)
          .push_back({course::decode_utf8(entry).substr(0, max_chars), label});
    }
  }
  return {train, test};
}
