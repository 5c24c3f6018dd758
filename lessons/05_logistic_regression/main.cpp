// 05_logistic_regression: softmax regression on Fashion-MNIST, the first real classifier.
//
// What it teaches:
//   - a classifier as one torch::nn::Linear (784 pixels -> 10 scores, the "logits")
//   - cross-entropy, and that it is log_softmax followed by nll_loss
//   - accuracy: argmax of the logits against the labels
//   - mini-batch SGD with momentum over the whole dataset kept as one tensor: a new
//     torch::randperm order each epoch, then index_select the rows of each batch
//   - a learning rate that halves every epoch, set by hand on the optimizer
// What it leaves out on purpose:
//   - Dataset/DataLoader (lesson 06), hidden layers (lesson 07), convolutions (lesson 08)
// How to run:
//   ./course run 05            (or build/<preset>/bin/05_logistic_regression --help)
//   05_logistic_regression --smoke --threads 2     a few hundred images, a few seconds
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "course/data.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/flags.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/metrics.h"
#include "course/plot.h"
#include "course/progress.h"
#include "course/schedule.h"
#include "course/timer.h"
#include "logistic_regression.h"

namespace F = torch::nn::functional;
namespace logistic = course::logistic_regression;

// Dimension legend: N = images in a split, B = images in a batch, C = 10 classes, 784 = 28x28.

// ---------------------------------------------------------------------------------------------
// Configuration (the epoch count is a shared flag: course::Options::epochs, default 6 here)
struct Config {
  int64_t batch_size = 64;         // images per SGD step
  double learning_rate = 0.02;     // SGD step size in epoch 1
  double lr_decay = 0.5;           // after each epoch: learning_rate *= lr_decay
  double momentum = 0.9;           // SGD momentum: keep 90% of the last update's direction
  double weight_decay = 1e-4;      // L2 penalty on the weights, keeps them small
  int64_t eval_batch_size = 1000;  // images per forward pass when evaluating (no backward)
  int64_t smoke_samples = 512;     // --smoke: images per split
  int64_t log_every = 100;         // batches between loss read-outs (.item() waits for the device)
};

// A split as two tensors on the device: the whole dataset fits in memory (60000 x 784 floats is
// 188 MB), so a batch is just a set of rows. No DataLoader needed (that is lesson 06).
struct Split {
  torch::Tensor inputs;  // (N, 784) float, normalised
  torch::Tensor labels;  // (N,) int64, 0..9
};

Split load_split(const std::filesystem::path& dir, bool train, int64_t limit,
                 const torch::Device& device) {
  const course::FashionMnist data = course::load_fashion_mnist(dir, train, limit);
  return {logistic::prepare_images(data.images).to(device), data.labels.to(device)};
}

// ---------------------------------------------------------------------------------------------
// Training: one pass over the training split in a random order
struct EpochResult {
  double loss = 0.0;             // mean training loss
  double accuracy = 0.0;         // fraction correct, counted while the model was learning
  double compute_seconds = 0.0;  // time in forward + backward + optimizer step
};

EpochResult train_epoch(logistic::SoftmaxRegression& model, torch::optim::Optimizer& optimizer,
                        const Split& train, const Config& config, int epoch, int epochs) {
  const int64_t count = train.inputs.size(0);
  const int64_t batches = (count + config.batch_size - 1) / config.batch_size;
  const torch::Device device = train.inputs.device();
  // A new order every epoch, from the seeded default generator. Python: torch.randperm(n)
  const torch::Tensor order = torch::randperm(count, torch::kLong).to(device);  // (N,)

  course::ProgressBar bar(batches, fmt::format("epoch {}/{}", epoch, epochs));
  torch::Tensor loss_sum = torch::zeros({}, train.inputs.options());  // stays on the device
  torch::Tensor correct = torch::zeros({}, train.labels.options());
  double compute_seconds = 0.0;
  for (int64_t batch = 0; batch < batches; ++batch) {
    const int64_t start = batch * config.batch_size;
    const int64_t end = std::min(start + config.batch_size, count);
    const torch::Tensor rows = order.slice(/*dim=*/0, start, end);       // Python: order[start:end]
    const torch::Tensor x = train.inputs.index_select(/*dim=*/0, rows);  // (B, 784) inputs[rows]
    const torch::Tensor y = train.labels.index_select(/*dim=*/0, rows);  // (B,)

    course::Stopwatch step_clock;
    const logistic::StepResult step = logistic::train_step(model, optimizer, x, y);
    course::synchronize(device);  // GPU work is async: wait to time it
    compute_seconds += step_clock.seconds();

    loss_sum += step.loss * (end - start);  // no .item() here: no wait per batch
    correct += logistic::count_correct(step.logits, y);
    if ((batch + 1) % config.log_every == 0 || batch + 1 == batches) {
      const double loss = step.loss.item<double>();  // a log point: read one number
      if (!std::isfinite(loss)) {
        throw std::runtime_error(
            fmt::format("loss became {} at epoch {}; lower --lr (now {}) and run again",
                        std::isnan(loss) ? "NaN" : "infinite", epoch,
                        optimizer.param_groups()[0].options().get_lr()));
      }
      bar.update(batch + 1, fmt::format("loss {:.4f}", loss));
    }
  }
  bar.finish();
  const auto n = static_cast<double>(count);
  return {loss_sum.item<double>() / n, correct.item<double>() / n, compute_seconds};
}

// ---------------------------------------------------------------------------------------------
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = 6;
    course::Flags flags("05_logistic_regression", "Softmax regression on Fashion-MNIST", defaults);
    flags.app().add_option("--lr", config.learning_rate, "SGD learning rate in epoch 1 (0.02)");
    flags.app().add_option("--batch-size", config.batch_size, "Images per SGD step (64)");
    const course::Options& options = flags.parse(argc, argv);
    if (!(config.learning_rate > 0.0) || config.batch_size < 1) {
      throw std::invalid_argument(fmt::format(
          "--lr must be above 0 and --batch-size at least 1 (got {} and {}); try --lr 0.02 "
          "--batch-size 64",
          config.learning_rate, config.batch_size));
    }
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data: each split as one tensor on the device --------------------------------------
    const auto dir =
        course::find_dataset("fashion-mnist", options.data_dir, course::fashion_mnist_files());
    const int64_t limit = options.smoke ? config.smoke_samples : 0;
    const Split train = load_split(dir, /*train=*/true, limit, lesson.device);
    const Split test = load_split(dir, /*train=*/false, limit, lesson.device);
    fmt::print("data: train {} x {}, test {} x {} (pixels/255, then (x - {}) / {})\n",
               train.inputs.size(0), train.inputs.size(1), test.inputs.size(0), test.inputs.size(1),
               logistic::kPixelMean, logistic::kPixelStd);
    fmt::print("train inputs: mean {:.3f} std {:.3f}\n", train.inputs.mean().item<double>(),
               train.inputs.std().item<double>());

    // ---- 2. Model: one Linear layer, 784 -> 10 -------------------------------------------------
    logistic::SoftmaxRegression model(logistic::kPixels, logistic::kClasses);
    model->to(lesson.device);
    int64_t parameters = 0;
    for (const auto& p : model->parameters()) parameters += p.numel();
    fmt::print("model: Linear({} -> {}), {} parameters\n", logistic::kPixels, logistic::kClasses,
               parameters);

    // ---- 3. The loss: cross_entropy is log_softmax + nll_loss ----------------------------------
    {
      torch::NoGradGuard no_grad;
      const auto first = torch::indexing::Slice(0, config.batch_size);
      const torch::Tensor logits = model(train.inputs.index({first}));  // (B, 10)
      const torch::Tensor targets = train.labels.index({first});        // (B,)
      const double fused = F::cross_entropy(logits, targets).item<double>();
      const double two_steps = logistic::cross_entropy_two_steps(logits, targets).item<double>();
      fmt::print(
          "untrained loss: cross_entropy {:.6f} | log_softmax+nll_loss {:.6f} | "
          "difference {:.1e} | guessing gives ln(10) = {:.4f}\n",
          fused, two_steps, std::abs(fused - two_steps), std::log(10.0));
    }

    // ---- 4. Train -----------------------------------------------------------------------------
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(config.learning_rate)
                                                         .momentum(config.momentum)
                                                         .weight_decay(config.weight_decay));
    course::MetricsLog metrics(
        lesson.out_dir / "metrics.csv",
        {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"});
    std::vector<double> epochs_axis, train_loss, test_loss, train_acc, test_acc;
    double total_seconds = 0.0, compute_seconds = 0.0;
    logistic::Evaluation final_test;
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch epoch_clock;
      // LibTorch's StepLR would decay one epoch later than Python's, so set the rate by hand.
      const double learning_rate = config.learning_rate * std::pow(config.lr_decay, epoch - 1);
      course::set_lr(optimizer, learning_rate);
      const EpochResult trained =
          train_epoch(model, optimizer, train, config, epoch, options.epochs);
      final_test = logistic::evaluate(model, test.inputs, test.labels, config.eval_batch_size);
      const double seconds = epoch_clock.seconds();
      metrics.write({static_cast<double>(epoch), trained.loss, trained.accuracy, final_test.loss,
                     final_test.accuracy, seconds});
      fmt::print(
          "epoch {}/{} lr {:.5f} train_loss {:.4f} train_acc {:.4f} test_loss {:.4f} "
          "test_acc {:.4f} time {:.2f}s\n",
          epoch, options.epochs, learning_rate, trained.loss, trained.accuracy, final_test.loss,
          final_test.accuracy, seconds);
      epochs_axis.push_back(epoch);
      train_loss.push_back(trained.loss);
      test_loss.push_back(final_test.loss);
      train_acc.push_back(trained.accuracy);
      test_acc.push_back(final_test.accuracy);
      total_seconds += seconds;
      compute_seconds += trained.compute_seconds;
    }

    // ---- 5. Curves, and what the weights look like --------------------------------------------
    course::plot_lines({{"train", epochs_axis, train_loss}, {"test", epochs_axis, test_loss}},
                       "Softmax regression: loss", "epoch", "cross-entropy",
                       lesson.out_dir / "loss.png");
    course::plot_lines({{"train", epochs_axis, train_acc}, {"test", epochs_axis, test_acc}},
                       "Softmax regression: accuracy", "epoch", "accuracy",
                       lesson.out_dir / "accuracy.png");
    // Each class's 784 weights drawn as a 28x28 picture: bright pixels vote for the class.
    const torch::Tensor grid = course::make_grid(logistic::weight_images(model), /*columns=*/5);
    // 4x larger by repeating each pixel, so the pictures are easy to see.
    course::save_png(grid.repeat_interleave(/*repeats=*/4, /*dim=*/0).repeat_interleave(4, 1),
                     lesson.out_dir / "weights.png");
    fmt::print("wrote metrics.csv, loss.png, accuracy.png, weights.png to {}\n",
               lesson.out_dir.string());

    // ---- 6. A few predictions: softmax turns logits into probabilities ------------------------
    {
      torch::NoGradGuard no_grad;
      model->eval();
      const auto first = torch::indexing::Slice(0, 5);
      const torch::Tensor probabilities =
          torch::softmax(model(test.inputs.index({first})), /*dim=*/1).to(torch::kCPU);  // (5, 10)
      const auto [best, predicted] = probabilities.max(/*dim=*/1);  // (5,), (5,)
      const torch::Tensor truth = test.labels.index({first}).to(torch::kCPU);
      for (int64_t i = 0; i < probabilities.size(0); ++i) {
        fmt::print("test image {}: label {:<11} predicted {:<11} p={:.3f}\n", i,
                   course::kFashionClasses.at(truth[i].item<int64_t>()),
                   course::kFashionClasses.at(predicted[i].item<int64_t>()),
                   best[i].item<double>());
      }
    }

    // ---- 7. The RESULT line that ./course bench reads -----------------------------------------
    const double epoch_time = total_seconds / options.epochs;
    fmt::print(
        "RESULT lesson=05_logistic_regression epochs={} epoch_time_s={:.6g} "
        "train_samples_per_s={:.6g} test_acc={:.6g} outside_share={:.6g}\n",
        options.epochs, epoch_time, static_cast<double>(train.inputs.size(0)) / epoch_time,
        final_test.accuracy, 1.0 - compute_seconds / total_seconds);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
