// flags.cpp: the shared flags and a lesson's own, parsed by CLI11 as text and then checked here,
// so that every flag is refused the same way (name, value, what is allowed).
#include "course/flags.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <stdexcept>

namespace course {
namespace {

std::string range_text(Range range) {
  return fmt::format("from {:g} to {:g}", range.min, range.max);
}

// "512,256" -> {"512", "256"}; an empty piece stays, so that "512,,256" is refused.
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    pieces.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return pieces;
    start = comma + 1;
  }
}

}  // namespace

double parse_number(const std::string& flag, const std::string& text, Range range) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(begin, &end);
  if (text.empty() || end != begin + text.size()) {
    throw std::invalid_argument(fmt::format("{} {}: not a number; {} takes a number {}", flag, text,
                                            flag, range_text(range)));
  }
  if (!std::isfinite(value)) {
    throw std::invalid_argument(fmt::format("{} {}: not a finite number; {} takes a number {}",
                                            flag, text, flag, range_text(range)));
  }
  if (value < range.min || value > range.max) {
    throw std::invalid_argument(fmt::format("{} {}: out of range; {} takes a number {}", flag, text,
                                            flag, range_text(range)));
  }
  return value;
}

std::int64_t parse_integer(const std::string& flag, const std::string& text, Range range) {
  std::int64_t value = 0;
  const char* first = text.data();
  const char* last = first + text.size();
  if (!text.empty() && *first == '+') ++first;
  const auto [end, error] = std::from_chars(first, last, value);
  if (error == std::errc::result_out_of_range) {
    throw std::invalid_argument(fmt::format("{} {}: out of range; {} takes a whole number {}", flag,
                                            text, flag, range_text(range)));
  }
  if (text.empty() || error != std::errc() || end != last) {
    throw std::invalid_argument(fmt::format("{} {}: not a whole number; {} takes a whole number {}",
                                            flag, text, flag, range_text(range)));
  }
  if (static_cast<double>(value) < range.min || static_cast<double>(value) > range.max) {
    throw std::invalid_argument(fmt::format("{} {}: out of range; {} takes a whole number {}", flag,
                                            text, flag, range_text(range)));
  }
  return value;
}

std::uint64_t parse_seed(const std::string& flag, const std::string& text) {
  const std::string allowed = fmt::format(
      "{} takes a whole number from -2^63 to 2^64-1, as Python's torch.manual_seed", flag);
  const char* first = text.data();
  const char* last = first + text.size();
  const bool negative = !text.empty() && *first == '-';
  if (!text.empty() && *first == '+') ++first;
  std::errc error{};
  const char* end = nullptr;
  std::uint64_t seed = 0;
  if (negative) {
    std::int64_t value = 0;
    const auto result = std::from_chars(first, last, value);
    end = result.ptr;
    error = result.ec;
    // Python: a negative seed s becomes 0xffff_ffff_ffff_ffff + s + 1, i.e. 2^64 + s.
    seed = static_cast<std::uint64_t>(value);
  } else {
    const auto result = std::from_chars(first, last, seed);
    end = result.ptr;
    error = result.ec;
  }
  if (error == std::errc::result_out_of_range) {
    throw std::invalid_argument(fmt::format("{} {}: out of range; {}", flag, text, allowed));
  }
  if (text.empty() || error != std::errc() || end != last) {
    throw std::invalid_argument(fmt::format("{} {}: not a whole number; {}", flag, text, allowed));
  }
  return seed;
}

// Every flag is read by CLI11 as text; after parsing, each flag that was given is converted and
// checked by its `apply`.
struct Flags::Parser {
  explicit Parser(const std::string& description, const std::string& name)
      : app(description, name) {}

  CLI::Option* text_option(const std::string& name, const std::string& help,
                           const std::string& default_text, std::function<void(std::string)> fn) {
    auto text = std::make_shared<std::string>();
    CLI::Option* option = app.add_option(name, *text, help)->default_str(default_text);
    appliers.push_back([option, text, fn = std::move(fn)] {
      if (option->count() > 0) fn(*text);
    });
    return option;
  }

  CLI::App app;
  std::vector<std::function<void()>> appliers;
};

Flags::Flags(std::string lesson, const std::string& description, Options defaults)
    : lesson_(std::move(lesson)),
      options_(std::move(defaults)),
      parser_(std::make_unique<Parser>(description, lesson_)) {
  add("--data-dir", options_.data_dir,
      "Folder that holds the datasets (default: $COURSE_DATA_DIR, the course's datasets/, then "
      "/usr/share/datasets)");
  add("--epochs", options_.epochs, "Passes over the training data", {1, 100000});
  add("--device", options_.device, "auto, cpu, cuda or cuda:N");
  parser_
      ->text_option("--seed", "Seed for every random generator", std::to_string(options_.seed),
                    [this](const std::string& text) { options_.seed = parse_seed("--seed", text); })
      ->type_name("INT");
  add_switch("--smoke", options_.smoke,
             fmt::format("{} samples per split only: finishes in seconds", kSmokeSamples));
  add("--out", options_.out, "Folder for outputs (default: <build>/out/<lesson>)");
  add("--threads", options_.threads,
      "Intra-op CPU threads (default 0: LibTorch's choice, or $OMP_NUM_THREADS)", {0, 1024});
}

Flags::~Flags() = default;

void Flags::add(const std::string& name, double& value, const std::string& help, Range range) {
  parser_
      ->text_option(name, help, fmt::format("{:g}", value),
                    [&value, name, range](const std::string& text) {
                      value = parse_number(name, text, range);
                    })
      ->type_name("NUMBER");
}

void Flags::add(const std::string& name, std::int64_t& value, const std::string& help,
                Range range) {
  parser_
      ->text_option(name, help, std::to_string(value),
                    [&value, name, range](const std::string& text) {
                      value = parse_integer(name, text, range);
                    })
      ->type_name("INT");
}

void Flags::add(const std::string& name, int& value, const std::string& help, Range range) {
  // Never wider than an int can hold.
  range.min = std::max(range.min, static_cast<double>(std::numeric_limits<int>::min()));
  range.max = std::min(range.max, static_cast<double>(std::numeric_limits<int>::max()));
  parser_
      ->text_option(name, help, std::to_string(value),
                    [&value, name, range](const std::string& text) {
                      value = static_cast<int>(parse_integer(name, text, range));
                    })
      ->type_name("INT");
}

void Flags::add(const std::string& name, std::vector<std::int64_t>& values, const std::string& help,
                Range range) {
  parser_
      ->text_option(name, help, fmt::format("{}", fmt::join(values, ",")),
                    [&values, name, range](const std::string& text) {
                      std::vector<std::int64_t> parsed;
                      for (const auto& piece : split_commas(text)) {
                        parsed.push_back(parse_integer(name, piece, range));
                      }
                      values = std::move(parsed);
                    })
      ->type_name("INT,...");
}

void Flags::add(const std::string& name, std::string& value, const std::string& help,
                const std::vector<std::string>& choices) {
  parser_
      ->text_option(name, help, value,
                    [&value, name, choices](const std::string& text) {
                      if (!choices.empty() &&
                          std::find(choices.begin(), choices.end(), text) == choices.end()) {
                        throw std::invalid_argument(fmt::format("{} {}: not one of {}", name, text,
                                                                fmt::join(choices, ", ")));
                      }
                      value = text;
                    })
      ->type_name(choices.empty() ? "TEXT" : fmt::format("{{{}}}", fmt::join(choices, ",")));
}

void Flags::add_switch(const std::string& name, bool& value, const std::string& help) {
  CLI::Option* option = parser_->app.add_flag(name, help);
  const bool on = name.rfind("--no-", 0) != 0;  // --no-flip switches something off
  parser_->appliers.push_back([option, &value, on] {
    if (option->count() > 0) value = on;
  });
}

const Options& Flags::parse(int argc, char** argv) {
  try {
    parser_->app.parse(argc, argv);
    for (const auto& apply : parser_->appliers) apply();
  } catch (const CLI::CallForHelp& e) {
    std::exit(parser_->app.exit(e));  // prints the usage, exit code 0
  } catch (const CLI::ParseError& e) {
    std::cerr << fmt::format("error: {}\nRun with --help to see the options.\n", e.what());
    std::exit(2);
  } catch (const std::invalid_argument& e) {
    std::cerr << fmt::format("error: {}\nRun with --help to see the options.\n", e.what());
    std::exit(2);
  }
  return options_;
}

}  // namespace course
