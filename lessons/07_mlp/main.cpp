// 07_mlp: a multilayer perceptron on Fashion-MNIST that trains like a real project.
//
// What it teaches:
//   - an MLP as MlpImpl + TORCH_MODULE, with dropout (mlp.h)
//   - three optimizers behind one flag: SGD with momentum, Adam, AdamW (--optimizer)
//   - a cosine learning-rate schedule, set by hand each step (works the same in every LibTorch)
//   - a validation split carved from the training set (the test set is only for the report)
//   - a checkpoint each epoch, written atomically, so that --resume continues a killed run and
//     ends with exactly the numbers of an uninterrupted one (checkpoint.h)
// What it leaves out on purpose: convolutions (lesson 08), data augmentation, early stopping and
// mixed precision. Data is indexed from tensors directly; no DataLoader.
//
// Run:  ./course run 07                       (15 epochs, AdamW, about 90% test accuracy)
//       ./course run 07 -- --optimizer sgd    (compare the optimizers)
//       stop it with Ctrl-C, then run it again with --resume: it continues from the last epoch.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "checkpoint.h"
#include "course/data.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/lesson.h"
#include "course/metrics.h"
#include "course/plot.h"
#include "course/progress.h"
#include "course/schedule.h"
#include "course/timer.h"
#include "mlp.h"

namespace mlp = course::mlp;

// ==== Configuration ==============================================================================
struct Config {
  std::vector<int64_t> hidden = {512, 256};  // hidden widths: 784 -> 512 -> 256 -> 10
  double dropout = 0.2;                      // dropout after each hidden layer
  mlp::OptimizerSettings optimizer;          // adamw, lr 1e-3, weight decay 0.01
  int64_t batch_size = 128;                  // images per step
  int64_t val_size = 5000;                   // training images held out (smoke: 1/8 of them)
  bool resume = false;                       // continue from <out>/checkpoint.pt
};
constexpr int kEpochs = 15;           // default --epochs
constexpr int64_t kSmokeLimit = 512;  // --smoke: images per split
constexpr int64_t kLogEvery = 50;     // steps between progress updates (and NaN checks)
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating

// ==== Data: normalised rows (N, 784) and labels (N,), on the training device =====================
struct Data {
  torch::Tensor x_train, y_train, x_val, y_val, x_test, y_test;
};

Data load_data(const course::Options& options, const Config& config, torch::Device device) {
  const auto dir =
      course::find_dataset("fashion-mnist", options.data_dir, course::fashion_mnist_files());
  const auto train =
      course::load_fashion_mnist(dir, /*train=*/true, options.smoke ? kSmokeLimit : 0);
  const auto test =
      course::load_fashion_mnist(dir, /*train=*/false, options.smoke ? kSmokeLimit : 0);
  const int64_t n = train.images.size(0);
  const auto split = mlp::split_train_val(
      n, options.smoke ? std::min(config.val_size, n / 8) : config.val_size, options.seed);
  const auto x = mlp::normalize_images(train.images);  // (60000, 784)
  return {x.index_select(0, split.train).to(device),
          train.labels.index_select(0, split.train).to(device),
          x.index_select(0, split.validation).to(device),
          train.labels.index_select(0, split.validation).to(device),
          mlp::normalize_images(test.images).to(device),
          test.labels.to(device)};
}

// ==== Train and evaluate =========================================================================
struct Score {
  double loss = 0, accuracy = 0, compute_seconds = 0;
};

Score evaluate(mlp::Mlp& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  model->eval();               // dropout off
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
  model->train();
  const auto n = static_cast<double>(x.size(0));
  return {loss_sum.item<double>() / n, correct.item<double>() / n, clock.seconds()};
}

Score train_epoch(mlp::Mlp& model, torch::optim::Optimizer& optimizer, const Data& data,
                  const Config& config, double base_lr, int epoch, int epochs) {
  const int64_t n = data.x_train.size(0);
  const int64_t steps = (n + config.batch_size - 1) / config.batch_size;
  // A new order each epoch from the default generator (its state is in the checkpoint).
  const auto order = torch::randperm(n, torch::kInt64).to(data.x_train.device());  // (n,)
  course::ProgressBar bar(steps, fmt::format("epoch {}/{}", epoch, epochs));
  auto loss_sum = torch::zeros({}, data.x_train.options());
  auto correct = torch::zeros({}, data.y_train.options());
  double compute_seconds = 0;
  for (int64_t step = 0; step < steps; ++step) {
    // Cosine schedule over all steps of the run. Python: CosineAnnealingLR(opt, T_max=total)
    course::set_lr(optimizer,
                   course::cosine_lr(base_lr, (epoch - 1) * steps + step, epochs * steps));
    const auto index = order.slice(0, step * config.batch_size, (step + 1) * config.batch_size);
    const auto x = data.x_train.index_select(0, index);  // (B, 784)
    const auto y = data.y_train.index_select(0, index);  // (B,)
    course::Stopwatch clock;
    const auto result = mlp::train_step(model, optimizer, x, y);
    course::synchronize(
        x.device());  // on a GPU: wait for the step, to time it (a small cost, for the report)
    compute_seconds += clock.seconds();
    loss_sum += result.loss * x.size(0);
    correct += result.logits.argmax(/*dim=*/1).eq(y).sum();
    if ((step + 1) % kLogEvery == 0 || step + 1 == steps) {  // read numbers only here
      const double seen = static_cast<double>(std::min(n, (step + 1) * config.batch_size));
      const double loss = loss_sum.item<double>() / seen;
      if (!std::isfinite(loss)) {
        throw std::runtime_error(
            fmt::format("loss became NaN at epoch {}; lower --lr (now {})", epoch, base_lr));
      }
      bar.update(step + 1, fmt::format("loss {:.4f}", loss));
    }
  }
  bar.finish();
  return {loss_sum.item<double>() / n, correct.item<double>() / n, compute_seconds};
}

// ==== main: data, model, resume, train, report ===================================================
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("07_mlp", "An MLP on Fashion-MNIST: optimizers, schedule, checkpoints",
                        defaults);
    CLI::App& app = flags.app();
    app.add_option("--optimizer", config.optimizer.name, "sgd, adam or adamw")
        ->check(CLI::IsMember(mlp::kOptimizerNames))
        ->capture_default_str();
    app.add_option("--lr", config.optimizer.lr, "Peak learning rate (0: 0.05 sgd, 1e-3 adam(w))");
    app.add_option("--batch-size", config.batch_size)->check(CLI::Range(1, 60000));
    app.add_option("--val-size", config.val_size, "Training images kept for validation");
    app.add_option("--hidden", config.hidden, "Hidden layer widths, e.g. 512,256")->delimiter(',');
    app.add_option("--dropout", config.dropout)->check(CLI::Range(0.0, 0.99));
    app.add_flag("--resume", config.resume, "Continue from <out>/checkpoint.pt");
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data ---------------------------------------------------------------------------
    const Data data = load_data(options, config, lesson.device);
    const int64_t n_train = data.x_train.size(0);
    fmt::print("data: {} train, {} validation, {} test images\n", n_train, data.x_val.size(0),
               data.x_test.size(0));

    // ---- 2. Model and optimizer -------------------------------------------------------------
    mlp::Mlp model(mlp::MlpOptions(784, config.hidden, 10).dropout(config.dropout));
    model->to(lesson.device);
    auto optimizer = mlp::make_optimizer(model->parameters(), config.optimizer);
    const double base_lr =
        config.optimizer.lr > 0 ? config.optimizer.lr : mlp::default_lr(config.optimizer.name);
    int64_t parameter_count = 0;
    for (const auto& parameter : model->parameters()) parameter_count += parameter.numel();
    fmt::print("model: MLP {} ({} parameters), optimizer {} lr {}\n", model->architecture(),
               parameter_count, config.optimizer.name, base_lr);

    // ---- 3. Resume from the checkpoint, or start fresh --------------------------------------
    const auto checkpoint_path = lesson.out_dir / "checkpoint.pt";
    const std::string settings =
        fmt::format("optimizer={} lr={} epochs={} batch_size={} dropout={} train={} seed={}",
                    config.optimizer.name, base_lr, options.epochs, config.batch_size,
                    config.dropout, n_train, options.seed);
    mlp::TrainingState state;
    state.settings = settings;
    if (config.resume) {
      state = mlp::load_checkpoint(checkpoint_path, model, *optimizer, settings, lesson.device);
      fmt::print("resumed from {} after epoch {} (best validation accuracy {:.4f})\n",
                 checkpoint_path.string(), state.epochs_done, state.best_val_acc);
    }
    // metrics.csv is rebuilt from the checkpoint's history, so a row written after the last
    // checkpoint by a killed run is not counted twice.
    course::MetricsLog metrics(lesson.out_dir / "metrics.csv", mlp::kHistoryColumns);
    for (const auto& row : state.history) metrics.write(row);

    // ---- 4. Train: an epoch, validation, test, log, checkpoint ------------------------------
    const int64_t steps = (n_train + config.batch_size - 1) / config.batch_size;  // per epoch
    for (int epoch = static_cast<int>(state.epochs_done) + 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch epoch_clock;
      const double lr = course::cosine_lr(base_lr, (epoch - 1) * steps, options.epochs * steps);
      const Score train =
          train_epoch(model, *optimizer, data, config, base_lr, epoch, options.epochs);
      const Score val = evaluate(model, data.x_val, data.y_val);
      // The test set is looked at every epoch only to draw its curve; decisions use validation.
      const Score test = evaluate(model, data.x_test, data.y_test);
      const bool best = val.accuracy > state.best_val_acc;
      if (best) {
        state.best_val_acc = val.accuracy;
        state.best_epoch = epoch;
      }
      const double compute = train.compute_seconds + val.compute_seconds + test.compute_seconds;
      const double seconds = epoch_clock.seconds();  // the checkpoint below is not counted
      fmt::print(
          "epoch {:2}/{} lr {:.2e} | train loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f}{} "
          "| test acc {:.4f} | {:.1f}s\n",
          epoch, options.epochs, lr, train.loss, train.accuracy, val.loss, val.accuracy,
          best ? " *" : "  ", test.accuracy, seconds);
      std::fflush(stdout);  // show the line now, also when the output goes to a file or a pipe
      state.history.push_back({static_cast<double>(epoch), train.loss, train.accuracy, test.loss,
                               test.accuracy, seconds, val.loss, val.accuracy, lr, compute});
      state.epochs_done = epoch;
      metrics.write(state.history.back());
      mlp::save_checkpoint(checkpoint_path, model, *optimizer, state, lesson.device);
    }

    // ---- 5. Report: curves and the RESULT line ----------------------------------------------
    if (state.history.empty()) throw std::runtime_error("no epoch was trained; check --epochs");
    const auto x = state.column("epoch");
    for (const auto& [what, title] :
         {std::pair{"loss", "cross-entropy loss"}, {"acc", "accuracy"}}) {
      course::plot_lines({{"train", x, state.column(std::string("train_") + what)},
                          {"validation", x, state.column(std::string("val_") + what)},
                          {"test", x, state.column(std::string("test_") + what)}},
                         std::string("07_mlp: ") + title, "epoch", title,
                         lesson.out_dir / (std::string(what) + ".png"));
    }
    const auto seconds = state.column("seconds"), compute = state.column("compute_seconds");
    const double total_seconds = std::accumulate(seconds.begin(), seconds.end(), 0.0);
    const double total_compute = std::accumulate(compute.begin(), compute.end(), 0.0);
    const auto epochs = static_cast<double>(state.history.size());
    const double test_acc = state.column("test_acc").back();
    fmt::print("best validation accuracy {:.4f} at epoch {}, final test accuracy {:.4f}\n",
               state.best_val_acc, state.best_epoch, test_acc);
    fmt::print("wrote metrics.csv, loss.png, acc.png and checkpoint.pt in {}\n",
               lesson.out_dir.string());
    fmt::print(
        "RESULT lesson=07_mlp epochs={} epoch_time_s={:.4g} train_samples_per_s={:.6g} "
        "test_acc={:.4f} outside_share={:.4f}\n",
        state.history.size(), total_seconds / epochs,
        static_cast<double>(n_train) * epochs / total_seconds, test_acc,
        1.0 - total_compute / total_seconds);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
