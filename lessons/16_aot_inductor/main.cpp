// 16_aot_inductor: the PyTorch 2 way to ship a model to C++, torch.export + AOTInductor.
//
// What it teaches:
//   - torch::inductor::AOTIModelPackageLoader: a .pt2 package that Python compiled ahead of time
//     (torch.export.export, then torch._inductor.aoti_compile_and_package), loaded and run from
//     C++; its batch dimension was exported as dynamic, so any batch size runs
//   - the same weights three ways: eager LibTorch (lesson 08's Cnn and a state_dict), TorchScript
//     (lesson 15) and AOTInductor; their outputs agree with each other and with Python's
//   - measuring latency honestly: warm-up runs, many timed runs, the median and the 99th
//     percentile rather than the mean, at batch 1 and 64
//   - a .pt2 from torch.export.save is not a package this loader runs: refused, with the reason
// What it leaves out on purpose: compiling for a GPU (export.py compiles for the CPU), packages of
// several models, and updating a package's weights from C++ (load_constants).
// The build runs the Python half, export.py: it exports lesson 08's CNN with fixed weights and
// writes the files into build/<preset>/exported/16_aot_inductor.
//
// Run:  ./course run 16               (200 timed runs per path and batch size, seconds)
//       ./course run 16 -- --smoke    (5 runs: checks that it works, measures nothing)
#include <fmt/format.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>   // torch::jit::load
#include <torch/version.h>  // TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "08_cnn/cnn.h"
#include "course/data.h"
#include "course/files.h"
#include "course/lesson.h"
#include "course/timer.h"

namespace fs = std::filesystem;
// Dimension legend: B = images in a batch, 10 classes.

// ==== Configuration ==============================================================================
struct Config {
  std::string models = course::exported_dir("16_aot_inductor");  // export.py's files
  int runs = 200;   // timed forward passes per path and batch size (--smoke: 5)
  int warmup = 10;  // untimed passes first (--smoke: 2): caches, allocator, threads warm up
};
const std::vector<int64_t> kBatches = {1, 64};  // the batch sizes the latency table measures

// ==== Files that Python made =====================================================================
fs::path require_file(const fs::path& path) {
  if (!fs::is_regular_file(path))
    throw std::runtime_error(fmt::format(
        "{} not found. export.py makes it: ./course build 16, or python "
        "lessons/16_aot_inductor/export.py --out {} (and pass that folder with --models)",
        path.string(), path.parent_path().string()));
  return path;
}

// ==== 1. AOTInductor: the compiled package
// ========================================================
using Package = torch::inductor::AOTIModelPackageLoader;

// A .pt2 is a zip. aoti_compile_and_package's holds data/aotinductor/model/: the compiled shared
// library (weights inside it) and the C++ it was compiled from. torch.export.save's holds
// models/model.json and data/weights/: a graph still to be compiled. Zip entry names are stored
// as plain text, so looking for the folder's name in the bytes is enough to tell them apart.
bool is_aoti_package(const fs::path& path) {
  return course::read_file(path).find("data/aotinductor/") != std::string::npos;
}

// Python: torch._inductor.aoti_load_package(path). The loader unzips the package into a temporary
// folder and opens its shared library: from here on no Python and no compiler are involved.
std::unique_ptr<Package> load_package(const fs::path& path) {
  if (!is_aoti_package(require_file(path))) {
    throw std::runtime_error(fmt::format(
        "{} is not an AOTInductor package. A .pt2 from torch.export.save holds an exported "
        "program (a graph to be compiled), which only Python can load (torch.export.load); "
        "AOTIModelPackageLoader runs compiled code, the .pt2 that "
        "torch._inductor.aoti_compile_and_package(program, package_path=...) writes",
        path.string()));
  }
  // The one place where LibTorch versions differ: 2.6 has (path, model_name) only; later ones
  // added run_single_threaded, num_runners (runners for requests from several threads at once,
  // lesson 18) and device_index, all present by 2.8. run(inputs) is called alike: run_package.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 8)
  return std::make_unique<Package>(path.string(), /*model_name=*/"model",
                                   /*run_single_threaded=*/false, /*num_runners=*/1);
#else
  return std::make_unique<Package>(path.string(), /*model_name=*/"model");
#endif
}

// The device the package was compiled for ("cpu" here): its inputs must be there.
torch::Device package_device(Package& package) {
  const auto metadata = package.get_metadata();
  const auto found = metadata.find("AOTI_DEVICE_KEY");
  return torch::Device(found == metadata.end() ? "cpu" : found->second);
}

// images (B, 1, 28, 28), normalised -> logits (B, 10). The package takes and returns flat lists
// of tensors, in the order of the exported forward's arguments and outputs. Python: package(images)
torch::Tensor run_package(Package& package, const torch::Tensor& images) {
  torch::InferenceMode inference;  // no autograd bookkeeping: the compiled code has none anyway
  std::vector<torch::Tensor> inputs = {images};  // not const: 2.6's run takes a plain reference
  return package.run(inputs)[0];
}

// ==== 2. TorchScript (lesson 15) =================================================================
torch::jit::Module load_torchscript(const fs::path& path, torch::Device device) {
  auto module = torch::jit::load(require_file(path).string(), device);
  module.eval();
  return module;
}

torch::Tensor run_torchscript(torch::jit::Module& module, const torch::Tensor& images) {
  torch::InferenceMode inference;
  return module.forward({images}).toTensor();
}

// ==== 3. Eager LibTorch: lesson 08's Cnn with Python's state_dict ================================
// cnn_state.pt is torch.save(dict(model.state_dict())): read with torch::pickle_load, then each
// parameter and buffer copied in by its dotted name (lesson 15 shows the checks in full).
course::Cnn load_eager(const fs::path& path, torch::Device device) {
  const std::string bytes = course::read_file(require_file(path));
  const auto state = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  TORCH_CHECK(state.isGenericDict(), path.string(), " holds no dict: export.py writes one");
  const auto dict = state.toGenericDict();
  course::Cnn model;  // lesson 08's widths, as export.py's
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& name, torch::Tensor& tensor) {
    TORCH_CHECK(dict.contains(name), path.string(), " has no '", name, "'");
    tensor.copy_(dict.at(name).toTensor());
  };
  for (auto& item : model->named_parameters()) copy(item.key(), item.value());
  for (auto& item : model->named_buffers()) copy(item.key(), item.value());
  TORCH_CHECK(dict.size() == model->named_parameters().size() + model->named_buffers().size(),
              path.string(), " has tensors the model does not have");
  model->to(device);
  model->eval();  // batch norm uses its running statistics, as export.py's model.eval() did
  return model;
}

torch::Tensor run_eager(course::Cnn& model, const torch::Tensor& images) {
  torch::InferenceMode inference;
  return model->forward(images);
}

// (count, 1, 28, 28): stripes of a different frequency per image, no randomness; export.py's
// fixed_images, so Python and C++ see the same pixels.
torch::Tensor fixed_images(int64_t count) {
  const auto position = torch::arange(28 * 28, torch::kFloat32).reshape({1, 1, 28, 28});
  const auto frequency =
      0.01 * (1 + torch::arange(count, torch::kFloat32)).reshape({count, 1, 1, 1});
  return torch::sin(position * frequency);
}

// ==== 4. Latency: many runs, the median and the 99th percentile ==================================
struct LatencyStats {
  double median_ms = 0;  // half of the runs were faster: the typical run
  double p99_ms = 0;     // 99 in 100 runs were at least this fast: the slow tail a user feels
};

// The median (the mean of the middle two for an even count) and the 99th percentile by the
// nearest rank (the smallest value with at least 99% of the runs at or below it).
LatencyStats latency_stats(std::vector<double> ms) {
  TORCH_CHECK(!ms.empty(), "latency_stats needs at least one run");
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  const double median = n % 2 == 1 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  const auto rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(n)));
  return {median, ms[rank - 1]};
}

// Milliseconds of each of `runs` calls of `forward`, after `warmup` untimed ones. On a GPU each
// call would need course::synchronize before the clock stops; on the CPU the call returns when
// done.
std::vector<double> time_runs(const std::function<void()>& forward, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) forward();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    course::Stopwatch clock;
    forward();
    ms.push_back(1000 * clock.seconds());
  }
  return ms;
}

double largest_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// ==== main: load the three, compare their outputs, time them =====================================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("16_aot_inductor",
                        "A model compiled ahead of time by AOTInductor, run and timed in C++");
    flags.add("--models", config.models, "Folder of export.py's files");
    flags.add("--runs", config.runs, "Timed forward passes per path and batch size", {5, 100000});
    flags.add("--warmup", config.warmup, "Untimed forward passes first", {0, 10000});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);
    if (options.smoke) {  // seconds, not a measurement
      config.runs = std::min(config.runs, 5);
      config.warmup = std::min(config.warmup, 2);
    }
    const fs::path models(config.models);

    // ---- 1. Load the same model three ways -----------------------------------------------------
    auto package = load_package(models / "cnn.pt2");
    const torch::Device device = package_device(*package);  // where it was compiled for
    if (device != lesson.device)
      fmt::print("note: cnn.pt2 was compiled for {}; all three run there (not on {})\n",
                 device.str(), lesson.device.str());
    auto scripted = load_torchscript(models / "cnn_scripted.pt", device);
    auto eager = load_eager(models / "cnn_state.pt", device);
    fmt::print(
        "loaded: cnn.pt2 (AOTInductor, compiled for {}), cnn_scripted.pt (TorchScript), "
        "cnn_state.pt into the C++ Cnn ({} parameters)\n",
        device.str(), course::parameter_count(*eager));

    // ---- 2. The same outputs, at the exported batch (2) and at batches export never saw ---------
    for (const int64_t batch : {int64_t{1}, int64_t{2}, int64_t{64}}) {
      const auto images = fixed_images(batch).to(device);  // (B, 1, 28, 28)
      const auto reference = run_eager(eager, images);     // (B, 10)
      fmt::print(
          "outputs: batch {:2} | AOTInductor vs eager {:.1e} | TorchScript vs eager {:.1e}\n",
          batch, largest_difference(run_package(*package, images), reference),
          largest_difference(run_torchscript(scripted, images), reference));
    }
    const auto first = run_package(*package, fixed_images(1).to(device))[0].cpu();  // (10,)
    fmt::print("outputs: logits of the first image [{:.4f}]\n",
               fmt::join(first.data_ptr<float>(), first.data_ptr<float>() + first.numel(), ", "));

    // ---- 3. Latency: batch 1 (one request) and batch 64 (throughput) ---------------------------
    struct Path {
      std::string name, key;  // key: its name in the RESULT line
      std::function<torch::Tensor(const torch::Tensor&)> forward;
    };
    const std::vector<Path> paths = {
        {"eager LibTorch", "eager", [&](const torch::Tensor& x) { return run_eager(eager, x); }},
        {"TorchScript", "torchscript",
         [&](const torch::Tensor& x) { return run_torchscript(scripted, x); }},
        {"AOTInductor", "aoti", [&](const torch::Tensor& x) { return run_package(*package, x); }}};
    fmt::print(
        "latency: {} runs after {} warm-up runs, {} threads, milliseconds per forward pass\n",
        config.runs, config.warmup, torch::get_num_threads());
    fmt::print("{:<15} {:>5} {:>9} {:>9} {:>16}\n", "path", "batch", "median", "p99",
               "vs eager median");
    std::string csv = "path,batch,runs,median_ms,p99_ms\n";
    std::vector<std::pair<std::string, double>> result;
    for (const int64_t batch : kBatches) {
      const auto images = fixed_images(batch).to(device);
      double eager_median = 0;
      for (const Path& path : paths) {
        const auto stats =
            latency_stats(time_runs([&] { path.forward(images); }, config.warmup, config.runs));
        if (path.key == "eager") eager_median = stats.median_ms;
        fmt::print("{:<15} {:>5} {:>9.3f} {:>9.3f} {:>15.2f}x\n", path.name, batch, stats.median_ms,
                   stats.p99_ms, eager_median / stats.median_ms);
        csv += fmt::format("{},{},{},{:.6f},{:.6f}\n", path.name, batch, config.runs,
                           stats.median_ms, stats.p99_ms);
        result.emplace_back(fmt::format("{}_b{}_median_ms", path.key, batch), stats.median_ms);
      }
    }
    course::write_file_atomically(lesson.out_dir / "latency.csv", csv);
    fmt::print("wrote latency.csv in {}\n", lesson.out_dir.string());
    course::print_result("16_aot_inductor", result);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
