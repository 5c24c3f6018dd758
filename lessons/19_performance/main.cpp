// 19_performance: where a training step's time goes, and how to make lesson 08's CNN train faster
// without losing accuracy.
//
// What it teaches:
//   - measuring first: LibTorch's profiler (time per op class), the step's multiply-adds counted by
//     hand, and the achieved GFLOP/s against this machine's own matmul peak in fp32 and bf16
//   - the levers, each timed in the same run against the fp32 step: threads, glibc's malloc
//     thresholds (mallopt), channels_last, bf16 autocast on the CPU (fp16 autocast with a
//     hand-built GradScaler on CUDA), and InferenceMode for evaluation
//   - an RAII guard for autocast (LibTorch has none) and a GradScaler from ATen's two AMP kernels
// What it leaves out on purpose: the flips and the confusion matrix of lesson 08, torch.compile
// (Python only), and quantisation.
//
// Run:  ./course run 19               (fp32 and the fastest setting, 5 epochs each, plus about 300
//                                      timed steps: about 3 minutes on 2 idle CPU cores)
//       ./course run 19 -- --smoke    (512 images, seconds)
#include <fmt/format.h>
#include <malloc.h>  // mallopt: glibc's malloc settings

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "08_cnn/cnn.h"
#include "amp.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/lesson.h"
#include "course/timer.h"
#include "measure.h"

// Dimension legend: N = images in a split, B = images in a batch.

// ==== Configuration ==============================================================================
struct Config {
  course::CnnOptions model;    // lesson 08's CNN: 32 then 64 feature maps, 128 hidden units
  double lr = 1e-3;            // Adam's learning rate (constant: both runs see the same one)
  int64_t batch_size = 128;    // images per step
  int64_t bench_steps = 40;    // timed steps per lever (after kWarmupSteps untimed ones)
  int64_t profile_steps = 20;  // fp32 steps recorded by the profiler
};
constexpr int kEpochs = 5;            // default --epochs, for each of the two full trainings
constexpr int64_t kWarmupSteps = 5;   // oneDNN picks and caches its kernels in the first steps
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating
constexpr int64_t kLogEvery = 100;    // steps between loss reads (and NaN checks)

// One way of running the step: the levers, each on or off.
struct Setting {
  std::string name;
  int threads = 0;             // intra-op threads (at::set_num_threads)
  bool channels_last = false;  // NHWC memory format for images, activations and conv weights
  bool autocast = false;       // bf16 autocast on the CPU; fp16 + GradScaler on CUDA
};

// ==== Measure first: the work of a step, and what the machine can do ============================
// Multiply-adds of one image's forward pass, counted by hand: a conv output value costs
// kernel x kernel x C_in of them, a linear output value in_features.
int64_t conv1_macs(const course::CnnOptions& o) {
  return 28 * 28 * o.channels1() * 9 * 1;
}
int64_t forward_macs(const course::CnnOptions& o) {
  return conv1_macs(o) + 14 * 14 * o.channels2() * 9 * o.channels1()       // the two convs
         + o.channels2() * 7 * 7 * o.hidden() + o.hidden() * o.classes();  // fc and head
}
// Training = forward + the weights' gradients (as many multiply-adds) + the inputs' gradients (as
// many again, except conv1's: the images need none). 2 FLOPs per multiply-add.
double training_flops_per_image(const course::CnnOptions& o) {
  return 2.0 * static_cast<double>(3 * forward_macs(o) - conv1_macs(o));
}

// ==== The levers in code ========================================================================
// Conv weights in NHWC order, as oneDNN prefers. Python:
// model.to(memory_format=torch.channels_last) (C++'s Module::to has no memory format, so each 4-D
// parameter is converted in place). A copy, not p.contiguous(ChannelsLast): conv1's weight
// (32, 1, 3, 3) has one input channel, so it already counts as channels_last and contiguous()
// would keep its NCHW strides; the convolution would then stay NCHW, and so would the batch norm,
// ReLU and pooling on its large output (the lever measured 0.93x instead of Python's 1.59x).
void to_channels_last(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters())
    if (p.dim() == 4) p.set_data(torch::empty_like(p, torch::MemoryFormat::ChannelsLast).copy_(p));
}

// glibc hands freed blocks over 128 KiB back to the kernel and faults them in again at the next
// step; these keep blocks up to 32 MiB in the process and never trim the heap (lesson 12 lost 13%
// to this). Same as GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:...trim_threshold=...
bool keep_freed_memory() {
  return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, INT32_MAX) == 1;
}

// ==== Data, the training step, an epoch, evaluation =============================================
struct Data {
  torch::Tensor x_train, y_train, x_test, y_test;  // (N, 1, 28, 28) normalised, (N,) labels
};

Data load_data(const course::Options& options, torch::Device device) {
  const auto train = course::load_fashion_mnist(options, /*train=*/true);
  const auto test = course::load_fashion_mnist(options, /*train=*/false);
  return {course::normalize_fashion(train.images).to(device), train.labels.to(device),
          course::normalize_fashion(test.images).to(device), test.labels.to(device)};
}

// Lesson 08's step with the levers: forward and loss under autocast, backward and step outside it
// (the backward runs each op in the dtype its forward used). Returns the loss (), fp32.
torch::Tensor train_step(course::Cnn& model, torch::optim::Optimizer& optimizer,
                         const torch::Tensor& images, const torch::Tensor& labels,
                         const Setting& setting, GradScaler* scaler = nullptr) {
  optimizer.zero_grad();
  torch::Tensor loss;
  {
    AutocastGuard autocast(images.device().type(), setting.autocast,
                           autocast_dtype(images.device()));
    const auto logits = model->forward(images);                   // (B, 10) bf16 under autocast
    loss = torch::nn::functional::cross_entropy(logits, labels);  // fp32: autocast's choice
  }
  if (scaler == nullptr) {
    loss.backward();
  } else {
    scaler->scale(loss).backward();  // fp16: gradients of loss x scale
  }
  RECORD_FUNCTION("optimizer.step", {});  // a named range in the profile (Python: record_function)
  if (scaler == nullptr) {
    optimizer.step();
  } else {
    scaler->step(optimizer);  // unscales; skips the step if a gradient is inf or NaN
    scaler->update();
  }
  return loss.detach();
}

// A fresh lesson 08 model (seeded: every setting starts from the same weights) and its optimizer.
struct Trainer {
  course::Cnn model;
  torch::optim::Adam optimizer;
  std::optional<GradScaler> scaler;
};
Trainer make_trainer(const Config& config, const Setting& setting, torch::Device device,
                     uint64_t seed) {
  torch::manual_seed(seed);
  course::Cnn model(config.model);
  model->to(device);
  if (setting.channels_last) to_channels_last(*model);  // before the optimizer sees the weights
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
  std::optional<GradScaler> scaler;
  if (setting.autocast && device.is_cuda()) scaler.emplace(device);
  return {model, std::move(optimizer), std::move(scaler)};
}

// Milliseconds per training step of `setting`, on the first batches of the training set.
double time_steps(const Config& config, const Data& data, const Setting& setting, uint64_t seed) {
  at::set_num_threads(setting.threads);
  auto t = make_trainer(config, setting, data.x_train.device(), seed);
  const int64_t batches = data.x_train.size(0) / config.batch_size;
  course::Stopwatch clock;
  for (int64_t step = 0; step < kWarmupSteps + config.bench_steps; ++step) {
    if (step == kWarmupSteps) course::synchronize(data.x_train.device()), clock.reset();
    const int64_t start = step % batches * config.batch_size;
    train_step(t.model, t.optimizer, data.x_train.slice(0, start, start + config.batch_size),
               data.y_train.slice(0, start, start + config.batch_size), setting,
               t.scaler ? &*t.scaler : nullptr);
  }
  course::synchronize(data.x_train.device());
  return 1000.0 * clock.seconds() / static_cast<double>(config.bench_steps);
}

// Test accuracy, and the predictions (N,). Python: with torch.inference_mode(): ...
// InferenceMode also skips autograd's version counters and views: faster than NoGradGuard alone.
struct Evaluation {
  double accuracy;
  torch::Tensor predicted;
};
Evaluation evaluate(course::Cnn& model, const torch::Tensor& x, const torch::Tensor& y,
                    const Setting& setting, bool inference_mode = true) {
  c10::InferenceMode inference(/*enabled=*/inference_mode);
  torch::NoGradGuard no_grad;  // what lesson 08 used (under InferenceMode it changes nothing)
  AutocastGuard autocast(x.device().type(), setting.autocast, autocast_dtype(x.device()));
  model->eval();
  std::vector<torch::Tensor> predicted;
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch)
    predicted.push_back(model->forward(x.slice(0, start, start + kEvalBatch)).argmax(/*dim=*/1));
  model->train();
  const auto all = torch::cat(predicted);
  return {all.eq(y).sum().item<double>() / static_cast<double>(x.size(0)), all};
}

// One epoch in a shuffled order; returns its seconds. Reads the loss only every kLogEvery steps.
double train_epoch(Trainer& t, const Data& data, const Config& config, const Setting& setting,
                   int epoch) {
  at::set_num_threads(setting.threads);
  course::Stopwatch clock;
  const int64_t n = data.x_train.size(0);
  const auto order = torch::randperm(n, torch::kInt64).to(data.x_train.device());  // (N,)
  auto loss_sum = torch::zeros({}, data.x_train.options());
  for (int64_t start = 0, step = 1; start < n; start += config.batch_size, ++step) {
    const auto index = order.slice(0, start, start + config.batch_size);
    const auto x = data.x_train.index_select(0, index);  // (B, 1, 28, 28)
    loss_sum += train_step(t.model, t.optimizer, x, data.y_train.index_select(0, index), setting,
                           t.scaler ? &*t.scaler : nullptr);
    if (step % kLogEvery == 0) course::stop_if_diverged(loss_sum.item<double>(), epoch, config.lr);
  }
  course::synchronize(data.x_train.device());
  return clock.seconds();
}

// Trains `epochs` epochs of `setting` from the seeded start; returns seconds per epoch and
// accuracy.
struct Run {
  double epoch_seconds = 0, accuracy = 0;
};
Run train(const Config& config, const Data& data, const Setting& setting, int epochs,
          uint64_t seed) {
  auto t = make_trainer(config, setting, data.x_train.device(), seed);
  Run run;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const double seconds = train_epoch(t, data, config, setting, epoch);
    run.accuracy = evaluate(t.model, data.x_test, data.y_test, setting).accuracy;
    run.epoch_seconds += seconds / epochs;
    fmt::print("{:<28} epoch {}/{} | {:5.1f}s | test acc {:.4f}\n", setting.name, epoch, epochs,
               seconds, run.accuracy);
    std::fflush(stdout);
  }
  return run;
}

// ==== main: measure, pull the levers one by one, then train with the fastest ====================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    defaults.threads = 2;
    course::Flags flags("19_performance", "Lesson 08's CNN made faster, lever by lever", defaults);
    flags.add("--lr", config.lr, "Adam's learning rate", {1e-6, 1.0});
    flags.add("--batch-size", config.batch_size, "Images per step", {1, 60000});
    flags.add("--bench-steps", config.bench_steps, "Timed steps per lever", {1, 100000});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);
    const torch::Device device = lesson.device;
    const int threads = at::get_num_threads();
    if (options.smoke) config.bench_steps = std::min<int64_t>(config.bench_steps, 3);
    if (options.smoke) config.profile_steps = 3;

    // ---- 1. Data ---------------------------------------------------------------------------
    const Data data = load_data(options, device);
    fmt::print("data: {} train, {} test images; batch {}\n", data.x_train.size(0),
               data.x_test.size(0), config.batch_size);

    // ---- 2. Measure first: the work of a step, the machine's peak, the profile --------------
    const double step_gflop = training_flops_per_image(config.model) * config.batch_size / 1e9;
    const int64_t n = options.smoke ? 512 : 2048;
    const double peak32 = matmul_gflops(torch::kFloat, device, n, 5);
    const double peak16 = matmul_gflops(autocast_dtype(device), device, n, 5);
    fmt::print("work: {} multiply-adds per image forward, {:.2f} GFLOP per training step\n",
               forward_macs(config.model), step_gflop);
    fmt::print("peak: {}x{} matmul {:.0f} GFLOP/s in fp32, {:.0f} in {}\n", n, n, peak32, peak16,
               c10::toString(autocast_dtype(device)));

    const Setting fp32{"fp32 (lesson 08)", threads};
    {
      auto t = make_trainer(config, fp32, device, options.seed);
      namespace prof = torch::autograd::profiler;
      prof::prepareProfiler(prof::ProfilerConfig(prof::ProfilerState::KINETO),
                            {torch::profiler::impl::ActivityType::CPU});
      prof::enableProfiler(prof::ProfilerConfig(prof::ProfilerState::KINETO),
                           {torch::profiler::impl::ActivityType::CPU});
      for (int64_t step = 0; step < config.profile_steps; ++step)
        train_step(t.model, t.optimizer, data.x_train.slice(0, 0, config.batch_size),
                   data.y_train.slice(0, 0, config.batch_size), fp32);
      const auto profile = seconds_by_class(prof::disableProfiler()->events());
      double total = 0;
      for (const auto& [op, seconds] : profile) total += seconds;
      fmt::print(
          "profile of {} fp32 steps ({:.1f} ms per step, {:.0f} GFLOP/s = {:.0f}% of "
          "the fp32 peak):\n",
          config.profile_steps, 1000 * total / config.profile_steps,
          step_gflop * config.profile_steps / total,
          100 * step_gflop * config.profile_steps / total / peak32);
      for (const auto& [op, seconds] : profile)
        fmt::print("  {:<12} {:5.1f}%\n", op, 100 * seconds / total);
    }

    // ---- 3. Lesson 08's fp32 training: the time to beat, the accuracy to keep ---------------
    const Run slow = train(config, data, fp32, options.epochs, options.seed);

    // ---- 4. The levers, one at a time, each timed over the same steps -----------------------
    const std::string half = c10::toString(autocast_dtype(device));
    std::vector<Setting> settings = {fp32, {"fp32, 1 thread", 1}};
    std::vector<double> ms;
    for (const auto& s : settings) ms.push_back(time_steps(config, data, s, options.seed));
    const bool tuned = keep_freed_memory();  // cannot be undone: every setting below has it
    for (const Setting& s :
         std::vector<Setting>{{"+ malloc thresholds", threads},
                              {"+ channels_last", threads, true},
                              {"+ " + half + " autocast", threads, true, true},
                              {half + " autocast, NCHW", threads, false, true}}) {
      settings.push_back(s);
      ms.push_back(time_steps(config, data, s, options.seed));
    }
    const auto best = std::min_element(ms.begin() + 2, ms.end()) - ms.begin();

    // ---- 5. The fastest setting, trained as long as fp32 was --------------------------------
    const Run fast = train(config, data, settings[best], options.epochs, options.seed);
    auto model = make_trainer(config, settings[best], device, options.seed).model;
    course::Stopwatch clock;
    evaluate(model, data.x_test, data.y_test, settings[best], /*inference_mode=*/false);
    const double no_grad_ms = 1000 * clock.seconds();
    clock.reset();
    evaluate(model, data.x_test, data.y_test, settings[best], /*inference_mode=*/true);
    const double inference_ms = 1000 * clock.seconds();

    // ---- 6. Report: every ratio from this one run --------------------------------------------
    fmt::print("malloc thresholds {}\n{:<28} {:>8} {:>8} {:>10} {:>9}\n",
               tuned ? "set" : "NOT set (not glibc?)",
               "step (batch " + std::to_string(config.batch_size) + ")", "ms", "GFLOP/s",
               "% of peak", "speed-up");
    for (size_t i = 0; i < settings.size(); ++i) {
      const double gflops = step_gflop / (ms[i] / 1000);
      fmt::print("{:<28} {:8.1f} {:8.0f} {:9.0f}% {:8.2f}x\n", settings[i].name, ms[i], gflops,
                 100 * gflops / (settings[i].autocast ? peak16 : peak32), ms[0] / ms[i]);
    }
    fmt::print(
        "evaluation of {} test images: NoGradGuard {:.0f} ms, InferenceMode {:.0f} ms "
        "({:.2f}x)\n",
        data.x_test.size(0), no_grad_ms, inference_ms, no_grad_ms / inference_ms);
    fmt::print(
        "epoch: fp32 {:.1f}s, {} {:.1f}s: {:.2f}x faster; test acc {:.4f} vs {:.4f} "
        "({:+.2f} points)\n",
        slow.epoch_seconds, settings[best].name, fast.epoch_seconds,
        slow.epoch_seconds / fast.epoch_seconds, slow.accuracy, fast.accuracy,
        100 * (fast.accuracy - slow.accuracy));
    course::print_result("19_performance",
                         {{"epochs", options.epochs},
                          {"epoch_time_s", fast.epoch_seconds},
                          {"fp32_epoch_time_s", slow.epoch_seconds},
                          {"epoch_speedup", slow.epoch_seconds / fast.epoch_seconds},
                          {"test_acc", fast.accuracy},
                          {"fp32_test_acc", slow.accuracy}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
