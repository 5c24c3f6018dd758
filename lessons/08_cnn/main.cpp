// 08_cnn: a small convolutional network on Fashion-MNIST, and a look at its mistakes.
//
// What it teaches:
//   - a CNN as CnnImpl + TORCH_MODULE: Conv2d, BatchNorm2d, ReLU, max pooling, Dropout and a
//     Linear head (cnn.h), with the shape of the tensor after every layer
//   - why train() and eval() matter: batch norm normalises with the batch's own statistics while
//     training and with its running averages when evaluating; dropout is on only while training
//   - light data augmentation: each training image is flipped left-right with probability 0.5
//   - reading the result: a confusion matrix (printed and saved as a PNG) and a grid of the test
//     images the model got wrong
// What it leaves out on purpose: a validation split and checkpoints (lesson 07), deeper networks
// (residual blocks), mixed precision and a DataLoader (the data fits in one tensor).
//
// Run:  ./course run 08               (10 epochs, about 0.925 test accuracy, about 3 minutes on
//                                      2 idle CPU cores)
//       ./course run 08 -- --smoke    (512 images, seconds)
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "cnn.h"
#include "course/data.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/lesson.h"
#include "course/metrics.h"
#include "course/plot.h"
#include "course/progress.h"
#include "course/schedule.h"
#include "course/timer.h"

namespace cnn = course::cnn;

// ============================================================================================
// Configuration
// ============================================================================================
struct Config {
  cnn::CnnOptions model;        // 32 then 64 feature maps, 128 hidden units, dropout 0.3
  double lr = 1e-3;             // Adam's peak learning rate; cosine decay to 0 over the run
  int64_t batch_size = 128;     // images per step
  bool flip = true;             // random left-right flips while training (--no-flip: off)
  int64_t mistakes_shown = 32;  // misclassified test images drawn in mistakes.png
};
constexpr int kEpochs = 10;           // default --epochs
constexpr int64_t kSmokeLimit = 512;  // --smoke: images per split
constexpr int64_t kLogEvery = 50;     // steps between progress updates (and NaN checks)
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating

// ============================================================================================
// Data: normalised images (N, 1, 28, 28) and labels (N,), on the training device
// ============================================================================================
struct Data {
  torch::Tensor x_train, y_train, x_test, y_test;
  torch::Tensor test_images;  // (N, 28, 28) uint8 on the CPU, for the picture of the mistakes
};

Data load_data(const course::Options& options, torch::Device device) {
  const auto dir =
      course::find_dataset("fashion-mnist", options.data_dir, course::fashion_mnist_files());
  const auto train =
      course::load_fashion_mnist(dir, /*train=*/true, options.smoke ? kSmokeLimit : 0);
  const auto test =
      course::load_fashion_mnist(dir, /*train=*/false, options.smoke ? kSmokeLimit : 0);
  return {cnn::normalize_images(train.images).to(device), train.labels.to(device),
          cnn::normalize_images(test.images).to(device), test.labels.to(device), test.images};
}

// ============================================================================================
// Train and evaluate
// ============================================================================================
struct Score {
  double loss = 0, accuracy = 0, compute_seconds = 0;
  torch::Tensor predicted;  // (N,) int64 on the CPU (evaluate only)
};

Score evaluate(cnn::Cnn& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  model->eval();               // batch norm: running averages; dropout: off
  course::Stopwatch clock;
  auto loss_sum = torch::zeros({}, x.options());
  std::vector<torch::Tensor> predicted;
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch) {
    const auto logits = model->forward(x.slice(0, start, start + kEvalBatch));  // (B, 10)
    loss_sum += torch::nn::functional::cross_entropy(
        logits, y.slice(0, start, start + kEvalBatch),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    predicted.push_back(logits.argmax(/*dim=*/1));  // (B,)
  }
  course::synchronize(x.device());
  const double compute_seconds = clock.seconds();
  model->train();
  const auto all = torch::cat(predicted).cpu();  // (N,)
  const auto n = static_cast<double>(x.size(0));
  return {loss_sum.item<double>() / n, all.eq(y.cpu()).sum().item<double>() / n, compute_seconds,
          all};
}

Score train_epoch(cnn::Cnn& model, torch::optim::Optimizer& optimizer, const Data& data,
                  const Config& config, int epoch, int epochs) {
  model->train();  // batch norm: batch statistics; dropout: on
  const int64_t n = data.x_train.size(0);
  const int64_t steps = (n + config.batch_size - 1) / config.batch_size;
  const auto order = torch::randperm(n, torch::kInt64).to(data.x_train.device());  // (n,)
  course::ProgressBar bar(steps, fmt::format("epoch {}/{}", epoch, epochs));
  auto loss_sum = torch::zeros({}, data.x_train.options());
  auto correct = torch::zeros({}, data.y_train.options());
  double compute_seconds = 0;
  for (int64_t step = 0; step < steps; ++step) {
    // Cosine schedule over all steps of the run. Python: CosineAnnealingLR(opt, T_max=total)
    course::set_lr(optimizer,
                   course::cosine_lr(config.lr, (epoch - 1) * steps + step, epochs * steps));
    const auto index = order.slice(0, step * config.batch_size, (step + 1) * config.batch_size);
    auto x = data.x_train.index_select(0, index);        // (B, 1, 28, 28)
    const auto y = data.y_train.index_select(0, index);  // (B,)
    if (config.flip) x = cnn::random_flip(x);
    course::Stopwatch clock;
    const auto result = cnn::train_step(model, optimizer, x, y);
    course::synchronize(x.device());
    compute_seconds += clock.seconds();
    loss_sum += result.loss * x.size(0);
    correct += result.logits.argmax(/*dim=*/1).eq(y).sum();
    if ((step + 1) % kLogEvery == 0 || step + 1 == steps) {  // read numbers only here
      const double seen = static_cast<double>(std::min(n, (step + 1) * config.batch_size));
      const double loss = loss_sum.item<double>() / seen;
      if (!std::isfinite(loss)) {
        throw std::runtime_error(
            fmt::format("loss became NaN at epoch {}; lower --lr (now {}) or check the data", epoch,
                        config.lr));
      }
      bar.update(step + 1, fmt::format("loss {:.4f}", loss));
    }
  }
  bar.finish();
  return {loss_sum.item<double>() / n, correct.item<double>() / n, compute_seconds, {}};
}

// ============================================================================================
// main: data, model, train, look at the mistakes, report
// ============================================================================================
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("08_cnn", "A small CNN on Fashion-MNIST, with its confusion matrix",
                        defaults);
    CLI::App& app = flags.app();
    app.add_option("--lr", config.lr, "Adam's peak learning rate")->check(CLI::Range(1e-6, 1.0));
    app.add_option("--batch-size", config.batch_size)->check(CLI::Range(1, 60000));
    app.add_option("--dropout", config.model.dropout())->check(CLI::Range(0.0, 0.99));
    app.add_flag("!--no-flip", config.flip, "Train without the random left-right flips");
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data ---------------------------------------------------------------------------
    const Data data = load_data(options, lesson.device);
    const int64_t n_train = data.x_train.size(0);
    fmt::print("data: {} train, {} test images, each (1, 28, 28)\n", n_train, data.x_test.size(0));

    // ---- 2. Model and optimizer -------------------------------------------------------------
    cnn::Cnn model(config.model);
    model->to(lesson.device);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
    fmt::print("model: CNN conv {}-{}, hidden {}, dropout {} ({} parameters)\n",
               config.model.channels1(), config.model.channels2(), config.model.hidden(),
               config.model.dropout(), cnn::parameter_count(*model));
    fmt::print("training: Adam lr {} (cosine to 0), batch {}, flips {}\n", config.lr,
               config.batch_size, config.flip ? "on" : "off");

    // ---- 3. Train: an epoch, a test pass, a log line ----------------------------------------
    course::MetricsLog metrics(
        lesson.out_dir / "metrics.csv",
        {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"});
    std::vector<double> epochs_x, train_loss, train_acc, test_loss, test_acc, seconds, compute;
    Score test;
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch epoch_clock;
      const Score train = train_epoch(model, optimizer, data, config, epoch, options.epochs);
      test = evaluate(model, data.x_test, data.y_test);
      seconds.push_back(epoch_clock.seconds());
      compute.push_back(train.compute_seconds + test.compute_seconds);
      fmt::print(
          "epoch {:2}/{} | train loss {:.4f} acc {:.4f} | test loss {:.4f} acc {:.4f} | "
          "{:.1f}s\n",
          epoch, options.epochs, train.loss, train.accuracy, test.loss, test.accuracy,
          seconds.back());
      std::fflush(stdout);  // the line shows at once, also when the output goes to a file
      epochs_x.push_back(epoch);
      train_loss.push_back(train.loss);
      train_acc.push_back(train.accuracy);
      test_loss.push_back(test.loss);
      test_acc.push_back(test.accuracy);
      metrics.write({static_cast<double>(epoch), train.loss, train.accuracy, test.loss,
                     test.accuracy, seconds.back()});
    }

    // ---- 4. Look at the mistakes: confusion matrix and misclassified images ------------------
    const auto matrix = cnn::confusion_matrix(test.predicted, data.y_test, /*classes=*/10);
    fmt::print("confusion matrix on {} test images (rows: true class, columns: predicted)\n{}",
               data.y_test.size(0), cnn::format_confusion(matrix, course::kFashionClasses));
    cnn::save_confusion_png(matrix, course::kFashionClasses, lesson.out_dir / "confusion.png");
    const int64_t drawn = cnn::save_mistakes_png(data.test_images, data.y_test, test.predicted,
                                                 course::kFashionClasses, config.mistakes_shown,
                                                 lesson.out_dir / "mistakes.png");
    fmt::print("misclassified: {} of {} test images, {} of them drawn in mistakes.png\n",
               data.y_test.size(0) - matrix.diagonal().sum().item<int64_t>(), data.y_test.size(0),
               drawn);

    // ---- 5. Report: curves and the RESULT line ----------------------------------------------
    course::plot_lines({{"train", epochs_x, train_loss}, {"test", epochs_x, test_loss}},
                       "08_cnn: loss", "epoch", "cross-entropy", lesson.out_dir / "loss.png");
    course::plot_lines({{"train", epochs_x, train_acc}, {"test", epochs_x, test_acc}},
                       "08_cnn: accuracy", "epoch", "accuracy", lesson.out_dir / "acc.png");
    fmt::print("wrote metrics.csv, loss.png, acc.png, confusion.png and mistakes.png in {}\n",
               lesson.out_dir.string());
    const double total_seconds = std::accumulate(seconds.begin(), seconds.end(), 0.0);
    const double total_compute = std::accumulate(compute.begin(), compute.end(), 0.0);
    const auto epochs = static_cast<double>(seconds.size());
    fmt::print(
        "RESULT lesson=08_cnn epochs={} epoch_time_s={:.4g} train_samples_per_s={:.6g} "
        "test_acc={:.4f} outside_share={:.4f}\n",
        seconds.size(), total_seconds / epochs,
        static_cast<double>(n_train) * epochs / total_seconds, test_acc.back(),
        1.0 - total_compute / total_seconds);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
