// flags.h: the command-line flags every lesson shares, parsed with CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace course {

/// The shared flags. A lesson keeps the defaults it does not care about.
struct Options {
  std::string data_dir;         ///< --data-dir: where datasets live (empty: search, see data.h)
  int epochs = 1;               ///< --epochs: full passes over the training set
  std::string device = "auto";  ///< --device: auto, cpu, cuda or cuda:N
  std::uint64_t seed = 42;      ///< --seed: one seed for every generator
  bool smoke = false;           ///< --smoke: a few hundred samples, seconds (used by the tests)
  std::string out;              ///< --out: where outputs go (empty: <build>/out/<lesson>)
  int threads = 0;              ///< --threads: intra-op threads (0: LibTorch's default)
};

/// A lesson's command line: the shared flags plus any the lesson adds through app().
///
///   course::Options defaults;
///   defaults.epochs = 10;
///   course::Flags flags("07_mlp", "An MLP on Fashion-MNIST", defaults);
///   flags.app().add_flag("--resume", resume, "continue from the last checkpoint");
///   const course::Options& options = flags.parse(argc, argv);
class Flags {
 public:
  Flags(std::string lesson, const std::string& description, Options defaults = {});

  /// The CLI11 app, to add lesson-specific options before parse().
  CLI::App& app() { return app_; }

  /// Parses argv. --help prints the usage and exits with 0; a bad or unknown flag prints what was
  /// wrong and exits with 2.
  const Options& parse(int argc, char** argv);

  const std::string& lesson() const { return lesson_; }
  const Options& options() const { return options_; }

 private:
  std::string lesson_;
  Options options_;
  CLI::App app_;
};

}  // namespace course
