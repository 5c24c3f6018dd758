// tokens.h: characters as tokens, for lessons 11 and 12: the fortune files of a corpus (Tang and
// Song poems, or English quotations) split by entry into training and validation text; a
// vocabulary of Unicode code points, so that a Chinese character (three bytes of UTF-8) is one
// token; and the choice of the next token from a model's scores (temperature, top-k, greedy).
// Lesson 11 explains it; lesson 12 includes it as "11_char_lm/tokens.h".
#pragma once

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "course/flags.h"
#include "course/text.h"

namespace course {

/// The fortune files of a corpus, in /usr/share/games/fortunes (Debian's fortunes-zh, fortunes).
inline std::vector<std::string> corpus_files(const std::string& corpus) {
  if (corpus == "tang") return {"tang300", "song100"};  // 唐诗三百首, 宋词一百首
  if (corpus == "english") return {"fortunes", "wisdom", "literature", "humorists"};
  throw std::invalid_argument("unknown corpus '" + corpus + "'; use tang or english");
}

/// Every entry (a poem, a quotation) of the corpus's files, found through --data-dir or the
/// system's folders; read_fortunes checks the UTF-8 and strips the colour escapes of the titles.
inline std::vector<std::string> load_corpus(const Options& options, const std::string& corpus) {
  const auto files = corpus_files(corpus);
  const auto folder = find_fortunes(options, files);
  std::vector<std::string> entries;
  for (const auto& file : files) {
    const auto read = read_fortunes(folder / file);
    entries.insert(entries.end(), read.begin(), read.end());
  }
  return entries;
}

/// Every tenth entry is validation text, the others training text; each entry is followed by a
/// blank line, so a model learns where a poem ends.
struct Split {
  std::string train, validation;  ///< UTF-8
  int64_t train_entries = 0, validation_entries = 0;
};

inline Split split_entries(const std::vector<std::string>& entries) {
  Split split;
  for (size_t i = 0; i < entries.size(); ++i) {
    const bool validation = i % 10 == 9;
    (validation ? split.validation : split.train) += entries[i] + "\n\n";
    ++(validation ? split.validation_entries : split.train_entries);
  }
  return split;
}

/// Token ids for code points. Python: chars = sorted(set(text)); ids = {c: i for i, c in ...}
struct Vocabulary {
  std::u32string characters;                  ///< id -> code point, in code point order
  std::unordered_map<char32_t, int64_t> ids;  ///< code point -> id
  int64_t size() const { return static_cast<int64_t>(characters.size()); }
};

/// The distinct code points of `text` (UTF-8). A std::string holds bytes; decode_utf8 turns them
/// into char32_t code points, what a Python str holds.
inline Vocabulary build_vocabulary(const std::string& text) {
  const std::u32string points = decode_utf8(text);
  const std::set<char32_t> distinct(points.begin(), points.end());  // sorted
  Vocabulary vocabulary;
  vocabulary.characters.assign(distinct.begin(), distinct.end());
  for (int64_t id = 0; id < vocabulary.size(); ++id) vocabulary.ids[vocabulary.characters[id]] = id;
  return vocabulary;
}

/// UTF-8 text -> token ids (N,) int64. Python: torch.tensor([ids[c] for c in text])
inline torch::Tensor encode(const Vocabulary& vocabulary, const std::string& text) {
  std::vector<int64_t> ids;
  for (const char32_t point : decode_utf8(text)) {
    const auto found = vocabulary.ids.find(point);
    if (found == vocabulary.ids.end()) {
      throw std::invalid_argument(
          fmt::format("'{}' (U+{:04X}) is not in the vocabulary of this corpus; use characters "
                      "that the corpus contains",
                      encode_utf8(std::u32string(1, point)), static_cast<uint32_t>(point)));
    }
    ids.push_back(found->second);
  }
  return torch::tensor(ids, torch::kInt64);
}

/// Token ids (any shape, any device) -> UTF-8 text. Python: "".join(chars[i] for i in ids)
inline std::string decode(const Vocabulary& vocabulary, const torch::Tensor& tokens) {
  const auto ids = tokens.to(torch::kCPU, torch::kInt64).contiguous();
  std::u32string points;
  for (int64_t i = 0; i < ids.numel(); ++i) {
    points += vocabulary.characters.at(ids.data_ptr<int64_t>()[i]);
  }
  return encode_utf8(points);
}

/// The next token from a model's scores `logits` (V,): divided by the temperature (below 1:
/// safer, above 1: wilder), cut to the k most likely (top_k 0: all), then drawn at random from
/// the default generator (torch::manual_seed repeats it). Temperature 0 is greedy: the most likely
/// token, no randomness. Sampling happens on the CPU, so a seed gives the same text on any device.
inline int64_t sample_next(const torch::Tensor& logits, double temperature, int64_t top_k) {
  if (temperature == 0) return logits.argmax().item<int64_t>();
  auto scaled = logits.to(torch::kCPU, torch::kFloat32) / temperature;  // (V,)
  if (top_k > 0 && top_k < scaled.size(0)) {
    const auto kth = std::get<0>(scaled.topk(top_k)).min();  // the k-th largest logit
    scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
  }
  // Python: torch.multinomial(torch.softmax(scaled, 0), 1).item()
  return torch::multinomial(torch::softmax(scaled, /*dim=*/0), /*num_samples=*/1).item<int64_t>();
}

}  // namespace course
