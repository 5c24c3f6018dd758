// Lesson 06: datasets, transforms, samplers and data loaders, and how fast each way feeds a model.
//
// What it teaches:
//   1. a torch::data Dataset over Fashion-MNIST's IDX files (read with course::read_idx),
//   2. a Dataset over a folder of PNG files (cv::imread) and 3. one over a CSV file,
//   4. transforms: normalise, random flip, random crop with padding, small random affine,
//   5. samplers (sequential, random) and the multi-worker torch::data::make_data_loader,
//   6. the fast path: the whole dataset as one tensor, batches by randperm + index_select.
// It measures the samples per second of each way and checks that the three readers agree.
// What it leaves out: training (lessons 07 and 08 use what is here), moving batches to a GPU,
// streaming datasets that do not fit in memory (torch::data::datasets::StreamDataset).
//
// Run: python3 datasets/make_datasets.py   (once: writes datasets/fashion-mnist-png)
//      ./course run 06        or   build/<preset>/bin/06_datasets --smoke
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "course/data.h"
#include "course/fashion_mnist.h"
#include "course/flags.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/timer.h"
#include "datasets.h"

namespace ds = course::datasets;
using torch::data::transforms::Normalize;
using torch::data::transforms::Stack;
using torch::data::transforms::TensorLambda;

// ================================ configuration ================================
struct Config {
  int64_t batch_size = 64;      // samples per batch
  size_t workers = 2;           // loader threads for the multi-worker runs (0: main thread)
  int64_t smoke_samples = 512;  // --smoke: measure on the first 512 training images only
  ds::AugmentOptions augment;   // flip 50%, crop padding 2, rotation 10 degrees, scale 10%
};

// ================================ measuring ================================
// Runs `loader` for `epochs` passes and returns samples per second. Every pass must yield each
// sample exactly once (the sampler's promise), so the count is checked too.
template <typename Loader>
double measure(const std::string& name, Loader& loader, int64_t samples, int epochs) {
  course::Stopwatch clock;
  int64_t seen = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (const auto& batch : loader) seen += batch.data.size(0);  // data (B, 1, 28, 28)
  }
  const double seconds = clock.seconds();
  if (seen != samples * epochs) {
    throw std::runtime_error(
        fmt::format("{}: saw {} samples, expected {}", name, seen, samples * epochs));
  }
  const double rate = static_cast<double>(seen) / seconds;
  fmt::print("  {:<44} {:>10.0f} samples/s  ({} samples, {:.3f} s)\n", name, rate, seen, seconds);
  return rate;
}

// The first 16 labels of a batch, "9 0 0 3 ...".
std::string first_labels(const torch::Tensor& labels) {
  const auto head = labels.slice(/*dim=*/0, 0, 16).contiguous();
  return fmt::format(
      "{}", fmt::join(head.data_ptr<int64_t>(), head.data_ptr<int64_t>() + head.numel(), " "));
}

// "1234.png" -> 1234: make_datasets.py names each PNG after its place in the IDX file.
size_t idx_index(const std::filesystem::path& png) {
  const std::string stem = png.stem().string();
  if (stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos) {
    throw std::runtime_error(png.string() +
                             ": expected a name like 1234.png (the image's index "
                             "in the IDX file); remake the folder with datasets/make_datasets.py");
  }
  return std::stoul(stem);
}

int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("06_datasets", "Datasets, transforms, samplers and data loaders");
    flags.app().add_option("--batch-size", config.batch_size, "samples per batch");
    flags.app().add_option("--workers", config.workers, "loader threads for the multi-worker runs");
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);
    if (config.batch_size < 1) throw std::invalid_argument("--batch-size must be at least 1");
    const int epochs = std::max(options.epochs, 1);

    // ============================ 1. find the data ============================
    const auto idx_dir =
        course::find_dataset("fashion-mnist", options.data_dir, course::fashion_mnist_files());
    const auto png_dir = ds::find_png_dataset(options.data_dir);
    fmt::print("data: {} (IDX) and {} (PNG + CSV)\n", idx_dir.string(), png_dir.string());

    // ============================ 2. a Dataset over IDX files ============================
    course::Stopwatch read_clock;
    ds::FashionMnistDataset train(idx_dir, /*train=*/true);
    fmt::print("IDX: {} training images {}x{} read in {:.2f} s\n", *train.size(),
               train.images().size(1), train.images().size(2), read_clock.seconds());
    const auto first = train.get(0);  // data (1, 28, 28) float, target () int64
    const int64_t first_label = first.target.item<int64_t>();
    fmt::print("train[0]: label {} ({}), data {} in [{:.1f}, {:.1f}], mean {:.4f}\n", first_label,
               course::kFashionClasses.at(static_cast<size_t>(first_label)),
               fmt::join(first.data.sizes(), "x"), first.data.min().item<double>(),
               first.data.max().item<double>(), first.data.mean().item<double>());
    // --smoke measures on a slice; slice() shares the memory, nothing is copied.
    ds::FashionMnistDataset work =
        options.smoke ? ds::FashionMnistDataset(train.images().slice(0, 0, config.smoke_samples),
                                                train.labels().slice(0, 0, config.smoke_samples))
                      : train;
    const auto samples = static_cast<int64_t>(*work.size());

    // ============================ 3. PNG folder and CSV file ============================
    ds::ImageFolderDataset folder(png_dir);
    course::Stopwatch csv_clock;
    ds::CsvDataset csv(png_dir / ds::kCsvFileName);
    const double csv_seconds = csv_clock.seconds();
    const double csv_rows_per_s = static_cast<double>(*csv.size()) / csv_seconds;
    fmt::print("PNG folder: {} images in {} classes\n", *folder.size(), folder.classes().size());
    fmt::print("CSV: {} rows parsed in {:.3f} s ({:.0f} rows/s)\n", *csv.size(), csv_seconds,
               csv_rows_per_s);
    // The same images three ways: file k.png is image k of the IDX file, CSV row i is PNG i.
    double max_difference = 0.0;
    int64_t label_mismatches = 0;
    for (size_t i = 0; i < *folder.size(); ++i) {
      const auto png = folder.get(i), row = csv.get(i);
      const auto idx = train.get(idx_index(folder.path(i)));
      max_difference = std::max({max_difference, (png.data - row.data).abs().max().item<double>(),
                                 (png.data - idx.data).abs().max().item<double>()});
      label_mismatches += !png.target.equal(row.target) || !png.target.equal(idx.target);
    }
    fmt::print(
        "PNG, CSV and IDX agree on {} images: max pixel difference {}, label mismatches {}\n",
        *folder.size(), max_difference, label_mismatches);

    // ============================ 4. samplers ============================
    // The CSV rows are sorted by class. A SequentialSampler keeps that order: a batch of one
    // class only, bad for training. A RandomSampler draws a new permutation every epoch.
    auto sequential = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(
        csv.map(Stack<>()), torch::data::DataLoaderOptions().batch_size(config.batch_size));
    auto shuffled = torch::data::make_data_loader<torch::data::samplers::RandomSampler>(
        csv.map(Stack<>()), torch::data::DataLoaderOptions().batch_size(config.batch_size));
    fmt::print("first batch, SequentialSampler: labels {}\n",
               first_labels(sequential->begin()->target));
    fmt::print("first batch, RandomSampler:     labels {}\n",
               first_labels(shuffled->begin()->target));

    // ============================ 5. data loaders: samples per second ============================
    fmt::print("throughput, batch {}, {} samples, {} epoch(s) each:\n", config.batch_size, samples,
               epochs);
    const auto loader_options = [&](size_t workers) {
      return torch::data::DataLoaderOptions().batch_size(config.batch_size).workers(workers);
    };
    auto plain = work.map(Normalize<>(ds::kMean, ds::kStd)).map(Stack<>());
    auto loader_0 = torch::data::make_data_loader(plain, loader_options(0));  // RandomSampler
    const double loader_0_rate =
        measure("Dataset::get + Stack, 0 workers", *loader_0, samples, epochs);
    auto loader_n = torch::data::make_data_loader(plain, loader_options(config.workers));
    const double loader_rate =
        measure(fmt::format("Dataset::get + Stack, {} workers", config.workers), *loader_n, samples,
                epochs);

    const auto augment = [&](torch::Tensor image) {  // (1, 28, 28) -> (1, 28, 28)
      return ds::normalize(ds::augment(image, config.augment));
    };
    auto augmented = work.map(TensorLambda<>(augment)).map(Stack<>());
    auto loader_aug = torch::data::make_data_loader(augmented, loader_options(config.workers));
    const double augment_rate =
        measure(fmt::format("+ flip, crop, affine, {} workers", config.workers), *loader_aug,
                samples, epochs);

    auto pngs = folder.map(Normalize<>(ds::kMean, ds::kStd)).map(Stack<>());
    auto loader_png = torch::data::make_data_loader(pngs, loader_options(config.workers));
    const double png_rate =
        measure(fmt::format("PNG folder (cv::imread), {} workers", config.workers), *loader_png,
                static_cast<int64_t>(*folder.size()), epochs);

    // ============================ 6. the fast path ============================
    // Convert and normalise everything once: (N, 1, 28, 28) float, 188 MB for 60,000 images.
    // In place (the ops ending in _), or each step would make one more 188 MB copy. Then a batch
    // is one index_select: no per-sample get(), no per-sample tensors, no stacking.
    auto all_images = work.images().unsqueeze(1).to(torch::kFloat32);  // (N, 1, 28, 28)
    all_images.div_(255.0).sub_(ds::kMean).div_(ds::kStd);  // Python: x.div_(255).sub_(m).div_(s)
    const auto& all_labels = work.labels();                 // (N,)
    const auto fast_path = [&](const std::string& name, bool augment_batches) {
      course::Stopwatch clock;
      int64_t seen = 0;
      for (int epoch = 0; epoch < epochs; ++epoch) {
        const auto order = torch::randperm(samples);  // Python: torch.randperm(n)
        for (const auto& indices : order.split(config.batch_size)) {
          auto images = all_images.index_select(0, indices);  // (B, 1, 28, 28) Python: x[indices]
          const auto labels = all_labels.index_select(0, indices);  // (B,)
          if (augment_batches) images = ds::augment_batch(images, config.augment);
          seen += labels.size(0);
        }
      }
      const double rate = static_cast<double>(seen) / clock.seconds();
      fmt::print("  {:<44} {:>10.0f} samples/s\n", name, rate);
      return rate;
    };
    const double fast_rate = fast_path("fast path: randperm + index_select", false);
    const double fast_augment_rate = fast_path("fast path + augment_batch (one grid_sample)", true);
    fmt::print("the fast path is {:.1f}x the 0-worker loader\n", fast_rate / loader_0_rate);

    // ============================ 7. look at the augmentation ============================
    // Row 1: eight training images; rows 2-4: three random augmentations of each.
    const auto originals = work.images().slice(0, 0, 8).unsqueeze(1).to(torch::kFloat32) / 255.0;
    std::vector<torch::Tensor> rows = {originals};
    for (int r = 0; r < 3; ++r) rows.push_back(ds::augment_batch(originals, config.augment));
    const auto grid_path = lesson.out_dir / "augment.png";
    course::save_png(course::make_grid(torch::cat(rows), /*columns=*/8), grid_path);
    fmt::print("wrote {}\n", grid_path.string());

    fmt::print(
        "RESULT lesson=06_datasets epochs={} samples={} loader_w0_samples_per_s={:.0f} "
        "loader_samples_per_s={:.0f} loader_augment_samples_per_s={:.0f} "
        "image_folder_samples_per_s={:.0f} csv_parse_rows_per_s={:.0f} "
        "fast_path_samples_per_s={:.0f} fast_path_augment_samples_per_s={:.0f}\n",
        epochs, samples, loader_0_rate, loader_rate, augment_rate, png_rate, csv_rows_per_s,
        fast_rate, fast_augment_rate);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
