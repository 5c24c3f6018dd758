// flags.cpp: the shared flags with CLI11.
#include "course/flags.h"

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

namespace course {

Flags::Flags(std::string lesson, const std::string& description, Options defaults)
    : lesson_(std::move(lesson)), options_(std::move(defaults)), app_(description, lesson_) {
  app_.add_option("--data-dir", options_.data_dir,
                  "Folder that holds the datasets (default: $COURSE_DATA_DIR, the course's "
                  "datasets/, then /usr/share/datasets)");
  app_.add_option("--epochs", options_.epochs, "Passes over the training data")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app_.add_option("--device", options_.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app_.add_option("--seed", options_.seed, "Seed for every random generator")
      ->capture_default_str();
  app_.add_flag("--smoke", options_.smoke, "A few hundred samples only: finishes in seconds");
  app_.add_option("--out", options_.out, "Folder for outputs (default: <build>/out/<lesson>)");
  app_.add_option("--threads", options_.threads,
                  "Intra-op CPU threads (default: LibTorch's choice, or $OMP_NUM_THREADS)")
      ->check(CLI::Range(0, 1024));
}

const Options& Flags::parse(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app_.exit(e));  // prints the usage, exit code 0
  } catch (const CLI::ParseError& e) {
    std::cerr << fmt::format("error: {}\nRun with --help to see the options.\n", e.what());
    std::exit(2);
  }
  return options_;
}

}  // namespace course
