// flags.h: the command-line flags every lesson shares, and a lesson's own, each one checked.
//
// CLI11 does the parsing, inside flags.cpp only: a lesson never includes it, which keeps every
// lesson's compile a few seconds shorter (docs/building.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace course {

/// --smoke: how many samples of each split a lesson reads, so that a run takes seconds.
constexpr std::int64_t kSmokeSamples = 512;

/// The shared flags. A lesson keeps the defaults it does not care about.
struct Options {
  std::string data_dir;         ///< --data-dir: where datasets live (empty: search, see data.h)
  int epochs = 1;               ///< --epochs: full passes over the training set
  std::string device = "auto";  ///< --device: auto, cpu, cuda or cuda:N
  std::uint64_t seed = 42;      ///< --seed: one seed for every generator
  bool smoke = false;           ///< --smoke: kSmokeSamples per split, seconds (used by the tests)
  std::string out;              ///< --out: where outputs go (empty: <build>/out/<lesson>)
  int threads = 0;              ///< --threads: intra-op threads (0: LibTorch's default)
};

/// The values a numeric flag accepts, both ends included.
struct Range {
  double min;
  double max;
};

/// A lesson's command line: the shared flags plus the lesson's own, declared with add().
///
///   course::Options defaults;
///   defaults.epochs = 10;
///   course::Flags flags("08_cnn", "A small CNN on Fashion-MNIST", defaults);
///   flags.add("--lr", config.lr, "Adam's peak learning rate", {1e-6, 1.0});
///   flags.add_switch("--no-flip", config.flip, "Train without the random flips");
///   const course::Options& options = flags.parse(argc, argv);
///
/// Every value is checked the same way, shared or not: a number must be a number, finite, a whole
/// number where one is meant, and in its range; a refusal names the flag, the value and what is
/// allowed, and the program exits with 2.
class Flags {
 public:
  Flags(std::string lesson, const std::string& description, Options defaults = {});
  ~Flags();
  Flags(const Flags&) = delete;
  Flags& operator=(const Flags&) = delete;

  /// A number flag. The variable's value before parse() is the default shown by --help.
  void add(const std::string& name, double& value, const std::string& help, Range range);
  void add(const std::string& name, std::int64_t& value, const std::string& help, Range range);
  void add(const std::string& name, int& value, const std::string& help, Range range);
  /// A comma-separated list of whole numbers, each in `range`: --hidden 512,256.
  void add(const std::string& name, std::vector<std::int64_t>& values, const std::string& help,
           Range range);
  /// A word; when `choices` is not empty, only one of them.
  void add(const std::string& name, std::string& value, const std::string& help,
           const std::vector<std::string>& choices = {});
  /// A switch without a value: --resume sets `value` to true; a name that starts with "--no-"
  /// sets it to false (--no-flip).
  void add_switch(const std::string& name, bool& value, const std::string& help);

  /// Parses argv. --help prints the usage and exits with 0; a bad or unknown flag prints what was
  /// wrong and exits with 2.
  const Options& parse(int argc, char** argv);

  const std::string& lesson() const { return lesson_; }
  const Options& options() const { return options_; }

 private:
  struct Parser;  // CLI11, in flags.cpp
  std::string lesson_;
  Options options_;
  std::unique_ptr<Parser> parser_;
};

/// The checks behind Flags, for a value given as text; each throws std::invalid_argument with a
/// message that names the flag, the value and what is allowed.
double parse_number(const std::string& flag, const std::string& text, Range range);
std::int64_t parse_integer(const std::string& flag, const std::string& text, Range range);
/// A seed as Python's torch.manual_seed takes it: -2^63 to 2^64 - 1, where a negative seed s
/// means 2^64 + s, so that a seed gives the same numbers in both languages.
std::uint64_t parse_seed(const std::string& flag, const std::string& text);

}  // namespace course
