// 07_mlp: a multilayer perceptron on Fashion-MNIST, trained like a real project.
//
// What it teaches: an MLP with dropout as MlpImpl + TORCH_MODULE (mlp.h) and why evaluate() calls
// eval(); SGD with momentum, Adam and AdamW behind one flag; a cosine learning-rate schedule; a
// validation split drawn by its own seeded generator (the test set is only for the report); what
// a checkpoint must hold for --resume to end a killed run with exactly the numbers of an
// uninterrupted one, and the checks that refuse a checkpoint that does not fit.
// What it leaves out on purpose: convolutions (lesson 08), data augmentation, early stopping and
// a DataLoader (the data fits in a tensor). Writing a file atomically is common/'s
// (course/checkpoint.h): this lesson says what goes into a checkpoint and what must come back.
//
// Run:  ./course run 07                       (15 epochs, AdamW, about 0.90 test accuracy)
//       ./course run 07 -- --optimizer sgd    (or adam; --smoke: 512 images, seconds)
//       stop it with Ctrl-C (it ends after the epoch), then run it again with --resume: it
//       continues after the last epoch. Each run writes into a new folder, <out>/run_N.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "course/checkpoint.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/history.h"
#include "course/lesson.h"
#include "course/progress.h"
#include "course/schedule.h"
#include "course/timer.h"
#include "mlp.h"

// Dimension legend: N = images in a split, B = images in a batch, 10 classes.

// ==== Configuration ==============================================================================
struct Config {
  course::MlpOptions model{784, {512, 256}, 10};  // 784 -> 512 -> 256 -> 10, dropout 0.2
  std::string optimizer = "adamw";                // sgd | adam | adamw
  double lr = 0.0;                                // peak learning rate (0: 0.05 sgd, 1e-3 adam)
  double momentum = 0.9;                          // sgd only
  double weight_decay = 0.01;                     // adamw only (decoupled weight decay)
  int64_t batch_size = 128;                       // images per step
  int64_t val_size = 5000;                        // training images held out (--smoke: 64)
  bool resume = false;                            // continue the latest run_N in --out
};
constexpr int kEpochs = 15;           // default --epochs
constexpr int64_t kLogEvery = 50;     // steps between progress updates (and NaN checks)
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating
const std::vector<std::string> kOptimizers = {"sgd", "adam", "adamw"};
using Rows = std::vector<std::vector<double>>;  // a History's rows: one per finished epoch

// ==== Data: a validation split, then normalised images (N, 1, 28, 28) and labels (N,) ===========
struct Split {
  torch::Tensor train, validation;  // (N - val_size,) and (val_size,) int64 indices
};

// Drawn from a generator seeded with `seed` alone: the same split in every run with that seed (a
// resumed one too), and the default generator, which shuffles and drops out, does not move.
Split split_train_val(int64_t n, int64_t val_size, uint64_t seed) {
  TORCH_CHECK(val_size > 0 && val_size < n, "--val-size ", val_size, " of ", n,
              " training images leaves nothing to train or to validate on; pick 1 to ", n - 1);
  // Python: torch.randperm(n, generator=torch.Generator().manual_seed(seed))
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto order = torch::randperm(n, generator, torch::kInt64);  // (n,)
  return {order.slice(/*dim=*/0, val_size, n), order.slice(/*dim=*/0, 0, val_size)};
}

struct Data {
  torch::Tensor x_train, y_train, x_val, y_val, x_test, y_test;
};

Data load_data(const course::Options& options, const Config& config, torch::Device device) {
  const auto train = course::load_fashion_mnist(options, /*train=*/true);
  const auto test = course::load_fashion_mnist(options, /*train=*/false);
  const int64_t n = train.images.size(0);
  const Split split = split_train_val(
      n, options.smoke ? std::min(config.val_size, n / 8) : config.val_size, options.seed);
  const auto x = course::normalize_fashion(train.images).to(device);  // (N, 1, 28, 28)
  const auto y = train.labels.to(device);                             // (N,)
  const auto fit = split.train.to(device), val = split.validation.to(device);
  return {x.index_select(0, fit),
          y.index_select(0, fit),
          x.index_select(0, val),
          y.index_select(0, val),
          course::normalize_fashion(test.images).to(device),
          test.labels.to(device)};
}

// ==== Optimizers: three behind one flag, returned as the base class the loop needs ==============
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<torch::Tensor>& parameters, const Config& config) {
  const double lr = config.lr;
  if (config.optimizer == "sgd") {  // Python: torch.optim.SGD(params, lr, momentum=0.9)
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(lr).momentum(config.momentum));
  }
  if (config.optimizer == "adam") {  // Python: torch.optim.Adam(params, lr)
    return std::make_unique<torch::optim::Adam>(parameters, torch::optim::AdamOptions(lr));
  }
  if (config.optimizer == "adamw") {  // Python: torch.optim.AdamW(params, lr, weight_decay=0.01)
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(lr).weight_decay(config.weight_decay));
  }
  throw std::invalid_argument(fmt::format("unknown optimizer '{}'; use one of: {}",
                                          config.optimizer, fmt::join(kOptimizers, ", ")));
}

// ==== One training step: the four lines every training loop has ==================================
struct StepResult {
  torch::Tensor loss;    // () mean cross-entropy of the batch, before the step; no .item() here:
  torch::Tensor logits;  // (B, 10)  reading a number waits for the device
};

StepResult train_step(course::Mlp& model, torch::optim::Optimizer& optimizer,
                      const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();                       // gradients add up unless cleared
  const auto logits = model->forward(images);  // (B, 10)
  const auto loss = torch::nn::functional::cross_entropy(logits, labels);
  loss.backward();   // d loss / d every parameter
  optimizer.step();  // the update rule of SGD, Adam or AdamW
  return {loss.detach(), logits.detach()};
}

// ==== Evaluation, and an epoch ===================================================================
struct Score {
  double loss = 0, accuracy = 0, compute_seconds = 0;
};

Score evaluate(course::Mlp& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  model->eval();               // dropout off: every unit counts, the same answer every time
  course::Stopwatch clock;
  auto loss_sum = torch::zeros({}, x.options());
  auto correct = torch::zeros({}, y.options());
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch) {
    const auto logits = model->forward(x.slice(0, start, start + kEvalBatch));  // (B, 10)
    const auto labels = y.slice(0, start, start + kEvalBatch);                  // (B,)
    loss_sum += torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    correct += logits.argmax(/*dim=*/1).eq(labels).sum();
  }
  course::synchronize(x.device());
  const double compute_seconds = clock.seconds();
  model->train();  // hand it back ready to train
  const auto n = static_cast<double>(x.size(0));
  return {loss_sum.item<double>() / n, correct.item<double>() / n, compute_seconds};
}

Score train_epoch(course::Mlp& model, torch::optim::Optimizer& optimizer, const Data& data,
                  const Config& config, int epoch, int epochs) {
  model->train();  // dropout on
  const int64_t n = data.x_train.size(0);
  const int64_t steps = (n + config.batch_size - 1) / config.batch_size;
  // A new order each epoch from the default generator (its state is in the checkpoint).
  const auto order = torch::randperm(n, torch::kInt64).to(data.x_train.device());  // (N,)
  course::ProgressBar bar(steps, fmt::format("epoch {}/{}", epoch, epochs));
  auto loss_sum = torch::zeros({}, data.x_train.options());
  auto correct = torch::zeros({}, data.y_train.options());
  double compute_seconds = 0;
  for (int64_t step = 0; step < steps; ++step) {
    // Cosine schedule over all steps of the run. Python: CosineAnnealingLR(opt, T_max=total)
    course::set_lr(optimizer,
                   course::cosine_lr(config.lr, (epoch - 1) * steps + step, epochs * steps));
    const auto index = order.slice(0, step * config.batch_size, (step + 1) * config.batch_size);
    const auto x = data.x_train.index_select(0, index);  // (B, 1, 28, 28)
    const auto y = data.y_train.index_select(0, index);  // (B,)
    course::Stopwatch clock;
    const auto result = train_step(model, optimizer, x, y);
    course::synchronize(x.device());
    compute_seconds += clock.seconds();
    loss_sum += result.loss * x.size(0);
    correct += result.logits.argmax(/*dim=*/1).eq(y).sum();
    if ((step + 1) % kLogEvery == 0 || step + 1 == steps) {  // read numbers only here
      const double loss = loss_sum.item<double>() / std::min(n, (step + 1) * config.batch_size);
      course::stop_if_diverged(loss, epoch, config.lr);  // NaN or inf: stop, say why
      bar.update(step + 1, fmt::format("loss {:.4f}", loss));
    }
  }
  bar.finish();
  return {loss_sum.item<double>() / n, correct.item<double>() / n, compute_seconds};
}

// The epoch (1-based) with the best validation accuracy in a history column; the first of equals.
// Decisions (the best epoch, early stopping) look at validation, never at the test set.
int64_t best_epoch(const std::vector<double>& val_acc) {
  TORCH_CHECK(!val_acc.empty(), "no epoch was trained yet; check --epochs");
  return std::max_element(val_acc.begin(), val_acc.end()) - val_acc.begin() + 1;
}

// ==== Checkpoints: what a resumed run needs to end exactly as an uninterrupted one ===============
// In every checkpoint; v2: the columns of course::History. Another value: not one of ours.
constexpr const char* kCheckpointFormat = "course.07_mlp.checkpoint.v2";

// The flags that change the numbers (--hidden is in the architecture): a run resumes only a
// checkpoint made with the same ones, or it would not end as an uninterrupted run does.
std::string run_settings(const Config& config, const course::Options& options, int64_t n_train) {
  return fmt::format("optimizer={} lr={} epochs={} batch_size={} dropout={} train={} seed={}",
                     config.optimizer, config.lr, options.epochs, config.batch_size,
                     config.model.dropout(), n_train, options.seed);
}

// `history` says where the loop stands (the next epoch, the best validation accuracy so far) and
// rebuilds metrics.csv on --resume.
// Python: torch.save({"format": ..., "model": model.state_dict(), "optimizer":
//                     optimizer.state_dict(), "rng_cpu": torch.get_rng_state(), ...}, path)
void save_checkpoint(const std::filesystem::path& path, const course::Mlp& model,
                     const torch::optim::Optimizer& optimizer, const Rows& history,
                     const std::string& settings, const torch::Device& device) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("architecture", c10::IValue(model->architecture()));  // to refuse another model
  archive.write("settings", c10::IValue(settings));                   // ... or other flags
  archive.write("history", course::rows_to_tensor(history));          // (epochs, columns)
  // The next epoch's shuffle and dropout masks come from the default generators: without their
  // state a resumed run would draw other numbers and end somewhere else.
  archive.write("rng_cpu", course::rng_state(torch::kCPU));
  if (device.is_cuda()) archive.write("rng_device", course::rng_state(device));
  model->save(model_archive);         // the weights
  optimizer.save(optimizer_archive);  // SGD's momentum, Adam's moments and step counts
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  course::save_atomically(archive, path);  // <path>.tmp, fsync, read back, rename over <path>
}

// Restores what save_checkpoint wrote into a model and optimizer built as for a fresh run, and
// the generators; returns the history. Python: torch.load(path); model.load_state_dict(...); ...
Rows load_checkpoint(const std::filesystem::path& path, course::Mlp& model,
                     torch::optim::Optimizer& optimizer, const std::string& settings,
                     const torch::Device& device) {
  auto archive = course::open_checkpoint(path, device);  // refuses a missing or damaged file
  // Refuse a file of another lesson, another model or other flags before changing anything.
  const std::vector<std::array<std::string, 3>> must_match = {
      {"format", kCheckpointFormat, "point --out at this lesson's output folder"},
      {"architecture", model->architecture(), "resume with the --hidden of that run"},
      {"settings", settings, "resume with the flags of that run"}};
  for (const auto& [key, expected, fix] : must_match) {
    c10::IValue saved;
    const bool found = archive.try_read(key, saved) && saved.isString();
    if (!found || saved.toStringRef() != expected) {
      throw std::runtime_error(fmt::format(
          "{} has {} \"{}\", this run needs \"{}\": {}, or start again without --resume.",
          path.string(), key, found ? saved.toStringRef() : "(none)", expected, fix));
    }
  }
  torch::Tensor history, rng_cpu, rng_device;
  torch::serialize::InputArchive model_archive, optimizer_archive;
  archive.read("history", history);
  archive.read("rng_cpu", rng_cpu);
  archive.read("model", model_archive);
  archive.read("optimizer", optimizer_archive);
  for (const auto& parameter : model->named_parameters()) {  // every weight there, in its shape
    torch::Tensor saved;
    TORCH_CHECK(course::read_module_tensor(model_archive, parameter.key(), saved) &&
                    saved.sizes() == parameter.value().sizes(),
                path.string(), " has no ", parameter.key(), " of shape ",
                parameter.value().sizes());
  }
  // Everything checked: now change the model, the optimizer and the generators.
  model->load(model_archive);
  optimizer.load(optimizer_archive);
  course::set_rng_state(torch::kCPU, rng_cpu);
  if (device.is_cuda() && archive.try_read("rng_device", rng_device)) {
    course::set_rng_state(device, rng_device);
  }
  return course::rows_from_tensor(history);
}

// ==== main: data, model, resume, train, report ===================================================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("07_mlp", "An MLP on Fashion-MNIST: optimizers, schedule, checkpoints",
                        defaults);
    flags.add("--optimizer", config.optimizer, "sgd, adam or adamw", kOptimizers);
    flags.add("--lr", config.lr, "Peak learning rate (0: 0.05 for sgd, 1e-3 for adam and adamw)",
              {0.0, 10.0});
    flags.add("--batch-size", config.batch_size, "Images per step", {1, 60000});
    flags.add("--val-size", config.val_size, "Training images held out for validation", {1, 59999});
    flags.add("--hidden", config.model.hidden(), "Hidden layer widths, e.g. 512,256", {1, 1e5});
    flags.add("--dropout", config.model.dropout(), "Chance to zero a hidden unit", {0.0, 0.99});
    flags.add_switch("--resume", config.resume, "Continue the latest run in --out");
    const course::Options& options = flags.parse(argc, argv);
    if (config.lr == 0) config.lr = config.optimizer == "sgd" ? 0.05 : 1e-3;  // the usual peaks
    // A new run folder <out>/run_N, or with --resume the latest one; Ctrl-C stops after an epoch.
    const course::Lesson lesson = course::begin_lesson(flags, {"checkpoint.pt", config.resume});

    // ---- 1. Data ---------------------------------------------------------------------------
    const Data data = load_data(options, config, lesson.device);
    const int64_t n_train = data.x_train.size(0);
    fmt::print("data: {} train, {} validation, {} test images\n", n_train, data.x_val.size(0),
               data.x_test.size(0));

    // ---- 2. Model and optimizer -------------------------------------------------------------
    course::Mlp model(config.model);
    model->to(lesson.device);
    const auto optimizer = make_optimizer(model->parameters(), config);
    fmt::print("model: MLP {} ({} parameters), optimizer {} lr {}\n", model->architecture(),
               course::parameter_count(*model), config.optimizer, config.lr);

    // ---- 3. Resume from the checkpoint, or start fresh --------------------------------------
    course::History history(
        lesson.out_dir, {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
                         "lr", "seconds", "compute_seconds"});
    const auto& checkpoint = lesson.checkpoint;  // <run folder>/checkpoint.pt
    const std::string settings = run_settings(config, options, n_train);
    if (config.resume) {
      // metrics.csv gets exactly the checkpoint's rows: one that a killed run wrote after its last
      // checkpoint is not counted twice.
      history.restore(load_checkpoint(checkpoint, model, *optimizer, settings, lesson.device));
      fmt::print("resumed from {} after epoch {}\n", checkpoint.string(), history.rows().size());
    }

    // ---- 4. Train: an epoch, validation, test, log, checkpoint ------------------------------
    const int64_t steps = (n_train + config.batch_size - 1) / config.batch_size;  // per epoch
    for (auto epoch = static_cast<int>(history.rows().size()) + 1; epoch <= options.epochs;
         ++epoch) {
      course::Stopwatch clock;
      const double lr = course::cosine_lr(config.lr, (epoch - 1) * steps,
                                          options.epochs * steps);  // at the epoch's first step
      const Score train = train_epoch(model, *optimizer, data, config, epoch, options.epochs);
      const Score val = evaluate(model, data.x_val, data.y_val);
      // The test set is looked at every epoch only to draw its curve.
      const Score test = evaluate(model, data.x_test, data.y_test);
      const double seconds = clock.seconds();  // the checkpoint below is not counted
      history.add(epoch,
                  {train.loss, train.accuracy, val.loss, val.accuracy, test.loss, test.accuracy, lr,
                   seconds, train.compute_seconds + val.compute_seconds + test.compute_seconds});
      const bool best = best_epoch(history.column("val_acc")) == epoch;
      fmt::print(
          "epoch {:2}/{} lr {:.2e} | train loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f}{} "
          "| test acc {:.4f} | {:.1f}s\n",
          epoch, options.epochs, lr, train.loss, train.accuracy, val.loss, val.accuracy,
          best ? " *" : "  ", test.accuracy, seconds);
      std::fflush(stdout);  // the line shows at once, also when the output goes to a file
      save_checkpoint(checkpoint, model, *optimizer, history.rows(), settings, lesson.device);
      course::stop_if_interrupted(lesson, epoch);  // after Ctrl-C: here, the checkpoint complete
    }

    // ---- 5. Report: curves and the RESULT line ----------------------------------------------
    history.plot("07_mlp");
    const int64_t best = best_epoch(history.column("val_acc"));
    fmt::print("best validation accuracy {:.4f} at epoch {}, final test accuracy {:.4f}\n",
               history.column("val_acc").at(best - 1), best, history.last("test_acc"));
    fmt::print("wrote metrics.csv, loss.png, accuracy.png and checkpoint.pt in {}\n",
               lesson.out_dir.string());
    history.print_result("07_mlp", n_train);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
