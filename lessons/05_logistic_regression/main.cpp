// 05_logistic_regression: softmax regression on Fashion-MNIST, the first real classifier.
//
// What it teaches:
//   - a classifier as one torch::nn::Linear (784 pixels -> 10 scores, the "logits"), written as
//     SoftmaxRegressionImpl + TORCH_MODULE
//   - cross-entropy, written out as its two steps: log_softmax, then nll_loss
//   - accuracy: the argmax of the logits against the labels
//   - mini-batch SGD with momentum over the whole split kept as one tensor: a new torch::randperm
//     order each epoch, then index_select the rows of each batch
//   - a learning rate that halves every epoch, set by hand on the optimizer
//   - evaluation in eval() mode without autograd; softmax turning logits into probabilities
// What it leaves out on purpose: Dataset/DataLoader (lesson 06), hidden layers and a validation
// split (07), convolutions (08).
//
// Run:  ./course run 05               (6 epochs, about 0.845 test accuracy, seconds on a CPU)
//       ./course run 05 -- --smoke    (512 images, about a second)
#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/history.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/progress.h"
#include "course/schedule.h"
#include "course/timer.h"

namespace F = torch::nn::functional;

// Dimension legend: N = images in a split, B = images in a batch, C = 10 classes, 784 = 28x28.

// ==== Configuration ==============================================================================
struct Config {
  double lr = 0.02;            // SGD's learning rate in epoch 1
  double lr_decay = 0.5;       // after each epoch: lr *= lr_decay (0.02, 0.01, 0.005, ...)
  double momentum = 0.9;       // keep 90% of the last update's direction
  double weight_decay = 1e-4;  // L2 penalty on the weights, keeps them small
  int64_t batch_size = 64;     // images per SGD step
};
constexpr int kEpochs = 6;            // default --epochs
constexpr int64_t kLogEvery = 100;    // steps between progress updates (and NaN checks)
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating

// ==== The model: logits = x W^T + b (the softmax lives in the loss) ==============================
struct SoftmaxRegressionImpl : torch::nn::Module {
  explicit SoftmaxRegressionImpl(int64_t in_features = 28 * 28, int64_t classes = 10)
      // nn::Linear's default init, as in Python: uniform in +-1/sqrt(in_features)
      : linear(register_module("linear", torch::nn::Linear(in_features, classes))) {}

  torch::Tensor forward(const torch::Tensor& images) {
    return linear(images.flatten(/*start_dim=*/1));  // (B, 1, 28, 28) -> (B, 784) -> (B, C)
  }

  torch::nn::Linear linear;  // weight (C, 784), bias (C)
};
TORCH_MODULE(SoftmaxRegression);

// ==== Data: normalised images (N, 1, 28, 28) and labels (N,), on the training device (188 MB) ===
struct Data {
  torch::Tensor x_train, y_train, x_test, y_test;
};

Data load_data(const course::Options& options, torch::Device device) {
  const auto train = course::load_fashion_mnist(options, /*train=*/true);
  const auto test = course::load_fashion_mnist(options, /*train=*/false);
  return {course::normalize_fashion(train.images).to(device), train.labels.to(device),
          course::normalize_fashion(test.images).to(device), test.labels.to(device)};
}

// ==== The loss, and accuracy =====================================================================
// Cross-entropy as its two steps, the same number as F::cross_entropy: logits (B, C), labels (B,)
// int64 -> () mean loss. Python: F.nll_loss(F.log_softmax(logits, dim=1), labels)
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  // Step 1: log-probabilities over the classes, z_c - log(sum_k exp(z_k)), without overflow.
  const auto log_probabilities = torch::log_softmax(logits, /*dim=*/1);  // (B, C)
  // Step 2: pick -log p[label] in each row and average: the negative log-likelihood.
  return F::nll_loss(log_probabilities, labels);  // ()
}

// How many rows have their largest logit at the label: an int64 tensor () that stays on the
// device, so adding these up costs no wait (reading a number with .item() does).
torch::Tensor count_correct(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(/*dim=*/1).eq(labels).sum();  // argmax: (B,) the class with the top score
}

// ==== The optimizer and its learning rate ========================================================
// Python: torch.optim.SGD(model.parameters(), lr, momentum=0.9, weight_decay=1e-4)
torch::optim::SGD make_optimizer(SoftmaxRegression& model, const Config& config) {
  return torch::optim::SGD(model->parameters(), torch::optim::SGDOptions(config.lr)
                                                    .momentum(config.momentum)
                                                    .weight_decay(config.weight_decay));
}

// The rate of epoch 1, 2, ...: config.lr, halved every epoch. Python: StepLR(opt, step_size=1,
// gamma=0.5); LibTorch's StepLR would decay one epoch later, so the lesson sets the rate itself.
double epoch_lr(const Config& config, int epoch) {
  return config.lr * std::pow(config.lr_decay, epoch - 1);
}

// ==== One training step: the four lines every training loop has ==================================
struct StepResult {
  torch::Tensor loss;    // () mean cross-entropy of the batch, before the step; no .item() here:
  torch::Tensor logits;  // (B, C)  reading a number waits for the device
};

StepResult train_step(SoftmaxRegression& model, torch::optim::Optimizer& optimizer,
                      const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();                       // gradients add up unless cleared
  const auto logits = model->forward(images);  // (B, C)
  const auto loss = cross_entropy(logits, labels);
  loss.backward();   // d loss / d weight and d loss / d bias
  optimizer.step();  // v = momentum * v + grad + weight_decay * w;  w -= lr * v
  return {loss.detach(), logits.detach()};
}

// ==== An epoch, and evaluation ===================================================================
struct Score {
  double loss = 0, accuracy = 0, compute_seconds = 0;
};

Score train_epoch(SoftmaxRegression& model, torch::optim::Optimizer& optimizer, const Data& data,
                  const Config& config, int epoch, int epochs) {
  course::set_lr(optimizer, epoch_lr(config, epoch));  // Python: for g in opt.param_groups: ...
  model->train();
  const int64_t n = data.x_train.size(0);
  const int64_t steps = (n + config.batch_size - 1) / config.batch_size;
  // A new order every epoch, from the seeded default generator. Python: torch.randperm(n)
  const auto order = torch::randperm(n, torch::kInt64).to(data.x_train.device());  // (N,)
  course::ProgressBar bar(steps, fmt::format("epoch {}/{}", epoch, epochs));
  auto loss_sum = torch::zeros({}, data.x_train.options());  // stays on the device
  auto correct = torch::zeros({}, data.y_train.options());
  double compute_seconds = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const auto index = order.slice(0, step * config.batch_size, (step + 1) * config.batch_size);
    const auto x = data.x_train.index_select(0, index);  // (B, 1, 28, 28) Python: x_train[index]
    const auto y = data.y_train.index_select(0, index);  // (B,)
    course::Stopwatch clock;
    const auto result = train_step(model, optimizer, x, y);
    course::synchronize(x.device());  // GPU work is asynchronous: wait, then read the clock
    compute_seconds += clock.seconds();
    loss_sum += result.loss * x.size(0);
    correct += count_correct(result.logits, y);
    if ((step + 1) % kLogEvery == 0 || step + 1 == steps) {  // read numbers only here
      const double loss = result.loss.item<double>();
      course::stop_if_diverged(loss, epoch, config.lr);  // NaN or inf: stop, say why
      bar.update(step + 1, fmt::format("loss {:.4f}", loss));
    }
  }
  bar.finish();
  return {loss_sum.item<double>() / n, correct.item<double>() / n, compute_seconds};
}

// Mean loss and accuracy over a whole split, kEvalBatch images per forward pass. The model comes
// back in the mode it came in.
Score evaluate(SoftmaxRegression& model, const torch::Tensor& x, const torch::Tensor& y) {
  TORCH_CHECK(x.size(0) > 0 && y.size(0) == x.size(0), "evaluate needs as many labels (", y.size(0),
              ") as images (", x.size(0), "), and at least one");
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():  no graph, no memory kept for one
  const bool was_training = model->is_training();
  model->eval();  // Python: model.eval(). No change for a Linear; for dropout (07) there is
  auto loss_sum = torch::zeros({}, x.options());
  auto correct = torch::zeros({}, y.options());
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch) {
    const auto logits = model->forward(x.slice(0, start, start + kEvalBatch));  // (B, C)
    const auto labels = y.slice(0, start, start + kEvalBatch);                  // (B,)
    loss_sum += cross_entropy(logits, labels) * labels.size(0);  // a short last batch weighs less
    correct += count_correct(logits, labels);
  }
  model->train(was_training);
  const auto n = static_cast<double>(x.size(0));
  return {loss_sum.item<double>() / n, correct.item<double>() / n, 0.0};
}

// Each class's 784 weights as a 28x28 picture, (C, 28, 28) in 0..1, every class scaled from its
// own smallest to its largest weight: bright pixels vote for the class, dark ones against it.
torch::Tensor weight_images(SoftmaxRegression& model) {
  const auto weight = model->linear->weight.detach().cpu();            // (C, 784)
  const auto low = weight.amin(/*dim=*/1, /*keepdim=*/true);           // (C, 1)
  const auto high = weight.amax(/*dim=*/1, /*keepdim=*/true);          // (C, 1)
  const auto scaled = (weight - low) / (high - low).clamp_min(1e-12);  // (C, 784) in 0..1
  return scaled.reshape({-1, 28, 28});
}

// ==== main: data, model, the loss before training, train, look at the weights, report ===========
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("05_logistic_regression", "Softmax regression on Fashion-MNIST", defaults);
    flags.add("--lr", config.lr, "SGD's learning rate in epoch 1", {1e-6, 10.0});
    flags.add("--batch-size", config.batch_size, "Images per SGD step", {1, 60000});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data: each split as one tensor on the device ------------------------------------
    const Data data = load_data(options, lesson.device);
    const int64_t n_train = data.x_train.size(0);
    fmt::print("data: {} train, {} test images, each (1, 28, 28): (pixels / 255 - {}) / {}\n",
               n_train, data.x_test.size(0), course::kFashionMean, course::kFashionStd);
    fmt::print("train inputs: mean {:.3f} std {:.3f}\n", data.x_train.mean().item<double>(),
               data.x_train.std().item<double>());

    // ---- 2. Model and optimizer: one Linear layer, 784 -> 10 ---------------------------------
    SoftmaxRegression model;
    model->to(lesson.device);
    torch::optim::SGD optimizer = make_optimizer(model, config);
    fmt::print("model: Linear(784 -> 10), {} parameters\n", course::parameter_count(*model));
    fmt::print("training: SGD lr {} (halved every epoch), momentum {}, weight decay {}, batch {}\n",
               config.lr, config.momentum, config.weight_decay, config.batch_size);

    // ---- 3. The loss before training: two ways, one number, near ln(10) ----------------------
    {
      torch::NoGradGuard no_grad;
      const auto logits = model->forward(data.x_train.slice(0, 0, config.batch_size));  // (B, C)
      const auto labels = data.y_train.slice(0, 0, config.batch_size);
      const double fused = F::cross_entropy(logits, labels).item<double>();
      const double two_steps = cross_entropy(logits, labels).item<double>();
      fmt::print(
          "untrained loss: cross_entropy {:.6f} | log_softmax+nll_loss {:.6f} | difference {:.1e} "
          "| guessing gives ln(10) = {:.4f}\n",
          fused, two_steps, std::abs(fused - two_steps), std::log(10.0));
    }

    // ---- 4. Train: an epoch, a test pass, a log line ----------------------------------------
    course::History history(lesson.out_dir, {"train_loss", "train_acc", "test_loss", "test_acc",
                                             "seconds", "compute_seconds"});
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch clock;
      const Score train = train_epoch(model, optimizer, data, config, epoch, options.epochs);
      const Score test = evaluate(model, data.x_test, data.y_test);
      const double seconds = clock.seconds();
      fmt::print(
          "epoch {}/{} | lr {:.5f} | train loss {:.4f} acc {:.4f} | test loss {:.4f} acc {:.4f} "
          "| {:.1f}s\n",
          epoch, options.epochs, epoch_lr(config, epoch), train.loss, train.accuracy, test.loss,
          test.accuracy, seconds);
      std::fflush(stdout);  // the line shows at once, also when the output goes to a file
      history.add(epoch, {train.loss, train.accuracy, test.loss, test.accuracy, seconds,
                          train.compute_seconds});
    }

    // ---- 5. Curves, and what the weights look like -------------------------------------------
    history.plot("05_logistic_regression");
    const auto grid = course::make_grid(weight_images(model), /*columns=*/5);  // 2 rows of 5
    const auto big = grid.repeat_interleave(/*repeats=*/4, /*dim=*/0).repeat_interleave(4, 1);
    course::save_png(big, lesson.out_dir / "weights.png");  // each weight a 4x4 block: visible
    fmt::print("wrote metrics.csv, loss.png, accuracy.png and weights.png in {}\n",
               lesson.out_dir.string());

    // ---- 6. A few predictions: softmax turns logits into probabilities ------------------------
    {
      torch::NoGradGuard no_grad;
      model->eval();
      const auto logits = model->forward(data.x_test.slice(0, 0, 5));      // (5, C)
      const auto probabilities = torch::softmax(logits, /*dim=*/1).cpu();  // rows add up to 1
      const auto [best, predicted] = probabilities.max(/*dim=*/1);         // (5,), (5,)
      for (int64_t i = 0; i < probabilities.size(0); ++i) {
        fmt::print("test image {}: label {:<11} predicted {:<11} p={:.3f}\n", i,
                   course::kFashionClasses.at(data.y_test[i].item<int64_t>()),
                   course::kFashionClasses.at(predicted[i].item<int64_t>()),
                   best[i].item<double>());
      }
    }

    // ---- 7. Report: the RESULT line ----------------------------------------------------------
    history.print_result("05_logistic_regression", n_train);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
