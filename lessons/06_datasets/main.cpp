// 06_datasets: datasets, transforms, samplers and data loaders, and how fast each feeds a model.
//
// What it teaches:
//   - a torch::data Dataset, get() and size(), over Fashion-MNIST's IDX files (read from the .gz
//     files by course::read_idx; the README explains the format), a CSV file and a PNG folder
//   - transforms with .map(): normalising, and a random flip, shift, rotation and scale
//     (affine_grid + grid_sample), per image in a loader or per batch
//   - samplers (sequential, random), the multi-worker torch::data::make_data_loader, and the fast
//     path: the whole split as one tensor, batches by randperm + index_select; each measured
// What it leaves out on purpose: training (lessons 07 and 08 train on the fast path), moving
// batches to a GPU, datasets larger than memory (torch::data::datasets::StreamDataset).
//
// Run:  ./course run 06               (60000 images per measurement, about 20 s)
//       ./course run 06 -- --smoke    (512 images; the PNG folder: datasets/make_datasets.py)
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "course/affine.h"
#include "course/csv.h"
#include "course/data.h"
#include "course/fashion_mnist.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/timer.h"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;
using torch::data::transforms::Normalize;
using torch::data::transforms::Stack;
using torch::data::transforms::TensorLambda;

// Dimension legend: N = samples, B = batch, C = channels (1: gray), H x W = image (28 x 28).

// ==== Configuration ==============================================================================
struct Config {
  int64_t batch_size = 64;        // samples per batch
  int64_t workers = 2;            // loader threads of the multi-worker runs (0: the main thread)
  double flip_probability = 0.5;  // augmentation: chance of a left-right mirror,
  int64_t max_shift = 2;          // a shift by whole pixels (torchvision: RandomCrop's padding),
  double max_degrees = 10.0;      // a rotation drawn from [-max, max]
  double max_scale_change = 0.1;  // and a scale drawn from [1 - c, 1 + c]
};
constexpr const char* kPngFolder = "fashion-mnist-png";  // made by datasets/make_datasets.py
constexpr const char* kCsvFile = "fashion-mnist.csv";    // in that folder: the same images

// ==== 1. Datasets: get(index) and size() =========================================================
// A uint8 image (H, W) as the float (1, H, W) in 0..1 that every get() here returns.
torch::Tensor to_float_image(const torch::Tensor& pixels) {
  return pixels.unsqueeze(0).to(torch::kFloat32).div(255.0);  // Python: TF.to_tensor(image)
}

// Images held as bytes, made float one sample at a time. Python: a Dataset with __getitem__ and
// __len__. The base class takes this class as its argument (CRTP): no virtual call per sample.
class FashionMnistDataset : public torch::data::datasets::Dataset<FashionMnistDataset> {
 public:
  FashionMnistDataset(torch::Tensor images, torch::Tensor labels)  // (N, H, W) uint8, (N,) int64
      : images_(std::move(images)), labels_(std::move(labels)) {
    TORCH_CHECK(images_.dim() == 3 && images_.scalar_type() == torch::kUInt8 &&
                    labels_.dim() == 1 && labels_.size(0) == images_.size(0),
                "FashionMnistDataset wants uint8 images (N, H, W) and one label each, got ",
                images_.sizes(), " and ", labels_.sizes());
  }
  torch::data::Example<> get(size_t index) override {  // Python: __getitem__
    TORCH_CHECK(index < *size(), "sample ", index, " of a dataset of ", *size());
    const auto i = static_cast<int64_t>(index);
    return {to_float_image(images_[i]), labels_[i]};  // data (1, H, W) float, target () int64
  }
  std::optional<size_t> size() const override { return static_cast<size_t>(images_.size(0)); }
  const torch::Tensor& images() const { return images_; }
  const torch::Tensor& labels() const { return labels_; }

 private:
  torch::Tensor images_, labels_;
};

// dir/{train,t10k}-{images,labels}-idx{3,1}-ubyte.gz. course::read_idx inflates the .gz while it
// reads and checks the header: 00 00 08 D, then D big-endian sizes, then the bytes.
FashionMnistDataset read_fashion_mnist(const fs::path& dir, bool train) {
  const std::string split = train ? "train" : "t10k";
  const auto images = course::read_idx(dir / (split + "-images-idx3-ubyte.gz"));  // (N, 28, 28)
  const auto labels = course::read_idx(dir / (split + "-labels-idx1-ubyte.gz"));  // (N,) uint8
  return {images, labels.to(torch::kInt64)};  // the losses want int64 class numbers
}

// A CSV file, a header and then label,pixel1,...,pixel784 per row, parsed once into the same
// Dataset: datasets differ in where the bytes come from, not in get().
FashionMnistDataset read_csv(const fs::path& path, int64_t height = 28, int64_t width = 28) {
  const auto table = course::read_csv_integers(path, 0, 255);  // (N, 1 + H * W) int32
  TORCH_CHECK(table.size(1) == 1 + height * width, path.string(), ": ", table.size(1),
              " columns, expected a label and ", height * width, " pixels");
  const auto labels = table.select(/*dim=*/1, 0).to(torch::kInt64);  // Python: table[:, 0]
  TORCH_CHECK(labels.max().item<int64_t>() <= 9, path.string(), ": a label above 9");
  return {table.slice(/*dim=*/1, 1).to(torch::kUInt8).reshape({-1, height, width}), labels};
}

// root/<class>/<name>.png, like torchvision's ImageFolder: each sub-folder is a class, numbered
// in sorted order. The constructor only lists the files; get() reads one.
class ImageFolderDataset : public torch::data::datasets::Dataset<ImageFolderDataset> {
 public:
  explicit ImageFolderDataset(const fs::path& root, int height = 28, int width = 28)
      : height_(height), width_(width) {
    for (const auto& entry : fs::directory_iterator(root)) {
      if (entry.is_directory()) classes_.push_back(entry.path().filename().string());
    }
    std::sort(classes_.begin(), classes_.end());  // the file system's order differs by machine
    TORCH_CHECK(!classes_.empty(), root.string(), " has no class folders");
    for (size_t label = 0; label < classes_.size(); ++label) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(root / classes_[label])) {
        if (entry.path().extension() == ".png") files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (auto& file : files) samples_.emplace_back(std::move(file), label);
    }
  }
  torch::data::Example<> get(size_t index) override {
    const auto& [file, label] = samples_.at(index);
    // The work of this dataset: open the file, inflate the PNG, copy the pixels into a tensor.
    const cv::Mat mat = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);  // H x W, 8-bit
    TORCH_CHECK(!mat.empty(), "cannot read ", file.string(), " as an image");
    TORCH_CHECK(mat.rows == height_ && mat.cols == width_, file.string(), " is ", mat.cols, "x",
                mat.rows, " pixels; this dataset's images are ", width_, "x", height_);
    return {to_float_image(course::from_mat(mat)), torch::tensor(static_cast<int64_t>(label))};
  }
  std::optional<size_t> size() const override { return samples_.size(); }
  const std::vector<std::string>& classes() const { return classes_; }
  const fs::path& path(size_t index) const { return samples_.at(index).first; }

 private:
  int height_, width_;  // every image must have this size: a batch is one tensor
  std::vector<std::string> classes_;
  std::vector<std::pair<fs::path, size_t>> samples_;  // (file, label)
};

// The same images three ways: k.png is image k of the IDX file, and CSV row i is PNG file i.
// Returns the largest pixel difference and the number of samples whose labels disagree.
std::pair<double, int64_t> compare_readers(ImageFolderDataset& folder, FashionMnistDataset& csv,
                                           FashionMnistDataset& idx) {
  double difference = 0;
  int64_t mismatches = 0;
  for (size_t i = 0; i < *folder.size(); ++i) {
    const auto png = folder.get(i), row = csv.get(i);
    const auto image = idx.get(std::stoul(folder.path(i).stem().string()));  // "12.png" -> 12
    difference = std::max({difference, (png.data - row.data).abs().max().item<double>(),
                           (png.data - image.data).abs().max().item<double>()});
    mismatches += !png.target.equal(row.target) || !png.target.equal(image.target);
  }
  return {difference, mismatches};
}

// The first 16 labels of a sampler's first batch, and how many classes they hold.
template <typename Sampler>
std::string first_labels(FashionMnistDataset dataset, int64_t batch_size) {
  auto loader = torch::data::make_data_loader<Sampler>(
      dataset.map(Stack<>()), torch::data::DataLoaderOptions(static_cast<size_t>(batch_size)));
  const torch::Tensor head = loader->begin()->target.slice(/*dim=*/0, 0, 16).contiguous();
  const std::vector<int64_t> labels(head.data_ptr<int64_t>(), head.data_ptr<int64_t>() + 16);
  const size_t classes = std::set<int64_t>(labels.begin(), labels.end()).size();
  return fmt::format("labels {} ({} distinct)", fmt::join(labels, " "), classes);
}

// ==== 2. Transforms: the random changes of augmentation ==========================================
// images (B, C, H, W), theta (B, 2, 3): affine_grid says where each output pixel reads in the
// input, and grid_sample reads there (bilinear, zeros outside). Python: the same two F. calls
// (align_corners=false: -1 and 1 are the outer edges of the corner pixels).
torch::Tensor affine(const torch::Tensor& images, const torch::Tensor& theta) {
  const auto grid = F::affine_grid(theta.to(images.dtype()), images.sizes(),
                                   /*align_corners=*/false);  // (B, H, W, 2)
  return F::grid_sample(images, grid, F::GridSampleFuncOptions().align_corners(false));
}

// The random change of each of `batch` images, as one affine_grid matrix each (B, 2, 3): a flip,
// a shift, a rotation and a scale. Python (torchvision, per image): RandomHorizontalFlip, then
// RandomCrop(28, padding=2), then RandomAffine(10, scale=(0.9, 1.1)).
torch::Tensor random_matrices(int64_t batch, int64_t height, int64_t width, const Config& config) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto flip = torch::rand({batch}, f64) < config.flip_probability;  // (B,)
  const auto shifts = torch::randint(-config.max_shift, config.max_shift + 1, {batch, 2}, f64);
  const auto u = torch::rand({batch, 2}, f64) * 2.0 - 1.0;  // (B, 2) in [-1, 1)
  return course::affine_matrices(
      u.select(1, 0) * config.max_degrees, shifts.select(1, 0), shifts.select(1, 1),
      1.0 + u.select(1, 1) * config.max_scale_change, flip, height, width);
}

// Augmentation of images (B, C, H, W): all four changes in one matrix per image, one grid_sample.
torch::Tensor augment(const torch::Tensor& images, const Config& config) {
  return affine(images, random_matrices(images.size(0), images.size(2), images.size(3), config));
}

// ==== 3. The ways to feed a model, and measuring them ============================================
// A way hands each batch of one pass (epoch), images (B, 1, 28, 28) and labels (B,), to a visitor.
using Visit = std::function<void(const torch::Tensor& images, const torch::Tensor& labels)>;
struct Way {
  std::string name, key;                   // for the table, and for the RESULT line
  int64_t samples;                         // what one pass must yield
  std::function<void(const Visit&)> pass;  // one epoch
};

// A data loader over `dataset`, with a RandomSampler (the default). Python: for x, y in
// DataLoader(dataset, batch_size, shuffle=True, num_workers=workers):
// Made for each pass and gone after it, as Python's DataLoader starts its workers for an epoch
// and stops them after it. A loader kept alive keeps its worker threads, and with them the
// OpenMP threads each worker started for LibTorch's ops: more OpenMP threads than cores makes
// every later parallel op of the process slower (README, "Threads that outlive their loader").
template <typename Dataset>
std::function<void(const Visit&)> loader_pass(Dataset dataset, int64_t batch_size,
                                              int64_t workers) {
  const auto options = torch::data::DataLoaderOptions()
                           .batch_size(static_cast<size_t>(batch_size))
                           .workers(static_cast<size_t>(workers));
  return [dataset = std::move(dataset), options](const Visit& visit) {
    const auto loader = torch::data::make_data_loader(dataset, options);  // workers start
    for (auto& batch : *loader) visit(batch.data, batch.target);
  };  // the loader goes, its workers stop
}

// The fast path: a new order from randperm, then one index_select per batch; no get(), no small
// tensors, no stacking. With `augmented`, one augment() call per batch.
std::function<void(const Visit&)> fast_pass(torch::Tensor images, torch::Tensor labels,
                                            const Config& config, bool augmented) {
  return [=](const Visit& visit) {
    for (const auto& index : torch::randperm(images.size(0)).split(config.batch_size)) {
      const auto x = images.index_select(0, index);  // (B, 1, 28, 28)  Python: images[index]
      visit(augmented ? augment(x, config) : x, labels.index_select(0, index));
    }
  };
}

// Each way this lesson measures. `.map(...)` applies a transform to every sample; Stack<> turns
// the samples into one batch (Python: the default collate_fn). Both augmenting ways change images
// already normalised, so what comes in at the edges (zeros) is the average pixel in both.
std::vector<Way> ways_to_feed(FashionMnistDataset work, ImageFolderDataset folder,
                              const Config& config) {
  const Normalize<> normalize(course::kFashionMean, course::kFashionStd);  // (x - mean) / std
  const auto one_image = [config](const torch::Tensor& image) {
    return augment(image.unsqueeze(0), config).squeeze(0);  // (1, 28, 28), a batch of one
  };
  const auto n = static_cast<int64_t>(*work.size());
  const auto batch = config.batch_size, workers = config.workers;
  const std::string with = fmt::format("{} workers", workers);
  // The fast path's data, once: (N, 1, H, W) float, normalised (188 MB for 60000 images). In place
  // (the ops ending in _): x / 255 - mean would make another 188 MB tensor at each step.
  auto images = work.images().unsqueeze(1).to(torch::kFloat32);
  images.div_(255.0).sub_(course::kFashionMean).div_(course::kFashionStd);  // Python: x.div_(255)
  return {{"Dataset::get + Stack, 0 workers", "loader_w0_samples_per_s", n,
           loader_pass(work.map(normalize).map(Stack<>()), batch, 0)},
          {"Dataset::get + Stack, " + with, "loader_samples_per_s", n,
           loader_pass(work.map(normalize).map(Stack<>()), batch, workers)},
          {"+ flip, shift, rotate, scale, " + with, "loader_augment_samples_per_s", n,
           loader_pass(work.map(normalize).map(TensorLambda<>(one_image)).map(Stack<>()), batch,
                       workers)},
          {"PNG folder (cv::imread), " + with, "image_folder_samples_per_s",
           static_cast<int64_t>(*folder.size()),
           loader_pass(folder.map(normalize).map(Stack<>()), batch, workers)},
          {"fast path: randperm + index_select", "fast_path_samples_per_s", n,
           fast_pass(images, work.labels(), config, /*augmented=*/false)},
          {"fast path + augment per batch", "fast_path_augment_samples_per_s", n,
           fast_pass(images, work.labels(), config, /*augmented=*/true)}};
}

// Runs `epochs` passes of a way and returns samples per second. Every pass must yield each sample
// exactly once (a sampler's promise), so the count is checked too.
double measure(const Way& way, int epochs) {
  int64_t seen = 0;
  course::Stopwatch clock;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    way.pass([&](const torch::Tensor& images, const torch::Tensor&) { seen += images.size(0); });
  }
  const double seconds = clock.seconds();
  TORCH_CHECK(seen == way.samples * epochs, way.name, ": saw ", seen, " samples, expected ",
              way.samples * epochs);
  const double rate = static_cast<double>(seen) / seconds;
  fmt::print("  {:<40} {:>10.0f} samples/s  ({} samples, {:.3f} s)\n", way.name, rate, seen,
             seconds);
  return rate;
}

// ==== main: three datasets, two samplers, every way measured, a picture, the RESULT line ========
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("06_datasets", "Datasets, transforms, samplers and loaders, measured");
    flags.add("--batch-size", config.batch_size, "Samples per batch", {1, 60000});
    flags.add("--workers", config.workers, "Loader threads of the multi-worker runs", {0, 64});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Find the data, read the IDX files ----------------------------------------------
    const auto idx_dir =
        course::find_dataset("fashion-mnist", options.data_dir, course::fashion_mnist_files());
    const auto png_dir = course::find_dataset(kPngFolder, options.data_dir, {kCsvFile});
    fmt::print("data: {} (IDX) and {} (PNG + CSV)\n", idx_dir.string(), png_dir.string());
    course::Stopwatch read_clock;
    FashionMnistDataset train = read_fashion_mnist(idx_dir, /*train=*/true);
    fmt::print("IDX: {} training images {}x{} read in {:.2f} s\n", *train.size(),
               train.images().size(1), train.images().size(2), read_clock.seconds());
    const auto first = train.get(0);  // data (1, 28, 28) float, target () int64
    fmt::print("train[0]: label {} ({}), data {} in [{:.1f}, {:.1f}], mean {:.4f}\n",
               first.target.item<int64_t>(),
               course::kFashionClasses.at(first.target.item<int64_t>()),
               fmt::join(first.data.sizes(), "x"), first.data.min().item<double>(),
               first.data.max().item<double>(), first.data.mean().item<double>());
    // --smoke measures on the first 512; slice() shares the memory, nothing is copied.
    const int64_t n = options.smoke ? course::kSmokeSamples : train.images().size(0);
    FashionMnistDataset work(train.images().slice(0, 0, n), train.labels().slice(0, 0, n));

    // ---- 2. The PNG folder and the CSV file: the same images, three readers -------------------
    ImageFolderDataset folder(png_dir);
    course::Stopwatch csv_clock;
    FashionMnistDataset csv = read_csv(png_dir / kCsvFile);
    const double csv_rate = static_cast<double>(*csv.size()) / csv_clock.seconds();
    fmt::print("PNG folder: {} images in {} classes\n", *folder.size(), folder.classes().size());
    fmt::print("CSV: {} rows parsed ({:.0f} rows/s)\n", *csv.size(), csv_rate);
    const auto [difference, mismatches] = compare_readers(folder, csv, train);
    fmt::print(
        "PNG, CSV and IDX agree on {} images: max pixel difference {}, label mismatches {}\n",
        *folder.size(), difference, mismatches);

    // ---- 3. Samplers: the CSV rows are sorted by class ---------------------------------------
    using namespace torch::data::samplers;
    fmt::print("first batch, SequentialSampler: {}\n",
               first_labels<SequentialSampler>(csv, config.batch_size));
    fmt::print("first batch, RandomSampler:     {}\n",
               first_labels<RandomSampler>(csv, config.batch_size));

    // ---- 4. Every way to feed a model, measured ----------------------------------------------
    fmt::print("throughput, batch {}, {} samples, {} epoch(s) each:\n", config.batch_size, n,
               options.epochs);
    std::vector<std::pair<std::string, double>> result = {
        {"epochs", options.epochs}, {"samples", n}, {"csv_parse_rows_per_s", csv_rate}};
    for (const Way& way : ways_to_feed(work, folder, config)) {
      result.emplace_back(way.key, measure(way, options.epochs));
    }
    fmt::print("the fast path is {:.1f}x the 0-worker loader\n",
               result[7].second / result[3].second);  // fast_path / loader_w0

    // ---- 5. Look at the augmentation: 8 images, then 3 rows of random changes of them ---------
    const auto originals = work.images().slice(0, 0, 8).unsqueeze(1).to(torch::kFloat32) / 255.0;
    std::vector<torch::Tensor> rows = {originals};  // (8, 1, 28, 28) each
    for (int row = 0; row < 3; ++row) rows.push_back(augment(originals, config));
    course::save_png(course::make_grid(torch::cat(rows), /*columns=*/8),
                     lesson.out_dir / "augment.png");
    fmt::print("wrote augment.png in {}\n", lesson.out_dir.string());
    course::print_result("06_datasets", result);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
