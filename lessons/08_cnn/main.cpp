// 08_cnn: a small convolutional network on Fashion-MNIST, and a look at its mistakes.
//
// What it teaches:
//   - a CNN as CnnImpl + TORCH_MODULE: Conv2d, BatchNorm2d, ReLU, max pooling, Dropout and a
//     Linear head (cnn.h), with the shape of the tensor after every layer
//   - why train() and eval() matter: batch norm normalises with the batch's own statistics while
//     training and with its running averages when evaluating; dropout is on only while training
//   - light data augmentation: each training image is flipped left-right with probability 0.5
//   - reading the result: a confusion matrix (counted here with index_put_, printed and drawn)
//     and a grid of the test images the model got wrong
// What it leaves out on purpose: a validation split and checkpoints (lesson 07), deeper networks
// (residual blocks, lesson 09), mixed precision (19) and a DataLoader (the data fits in a tensor).
//
// Run:  ./course run 08               (10 epochs, about 0.925 test accuracy, about 3 minutes on
//                                      2 idle CPU cores)
//       ./course run 08 -- --smoke    (512 images, seconds)
#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "cnn.h"
#include "course/confusion.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/history.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/progress.h"
#include "course/schedule.h"
#include "course/timer.h"

// Dimension legend: N = images in a split, B = images in a batch, 10 classes.

// ==== Configuration ==============================================================================
struct Config {
  course::CnnOptions model;     // 32 then 64 feature maps, 128 hidden units, dropout 0.3
  double lr = 1e-3;             // Adam's peak learning rate; cosine decay to 0 over the run
  int64_t batch_size = 128;     // images per step
  bool flip = true;             // random left-right flips while training (--no-flip: off)
  int64_t mistakes_shown = 32;  // misclassified test images drawn in mistakes.png
};
constexpr int kEpochs = 10;           // default --epochs
constexpr int64_t kLogEvery = 50;     // steps between progress updates (and NaN checks)
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating

// ==== Data: normalised images (N, 1, 28, 28) and labels (N,), on the training device ============
struct Data {
  torch::Tensor x_train, y_train, x_test, y_test;
  torch::Tensor test_images;  // (N, 28, 28) uint8 on the CPU, for the picture of the mistakes
};

Data load_data(const course::Options& options, torch::Device device) {
  const auto train = course::load_fashion_mnist(options, /*train=*/true);
  const auto test = course::load_fashion_mnist(options, /*train=*/false);
  return {course::normalize_fashion(train.images).to(device), train.labels.to(device),
          course::normalize_fashion(test.images).to(device), test.labels.to(device), test.images};
}

// Augmentation: flips each image of a batch (B, C, H, W) left-right with probability 0.5. Clothes
// look like clothes in a mirror, so the labels stay right.
torch::Tensor random_flip(const torch::Tensor& images) {
  const auto flip = torch::rand({images.size(0), 1, 1, 1}, images.options()) < 0.5;  // (B,1,1,1)
  return torch::where(flip, images.flip({3}), images);  // Python: images.flip(3) mirrors W
}

// ==== One training step: the four lines every training loop has ==================================
struct StepResult {
  torch::Tensor loss;    // () mean cross-entropy of the batch, before the step; no .item() here:
  torch::Tensor logits;  // (B, 10)  reading a number waits for the device
};

StepResult train_step(course::Cnn& model, torch::optim::Optimizer& optimizer,
                      const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();                       // gradients add up unless cleared
  const auto logits = model->forward(images);  // (B, 10)
  const auto loss = torch::nn::functional::cross_entropy(logits, labels);
  loss.backward();   // d loss / d every parameter
  optimizer.step();  // Adam's update
  return {loss.detach(), logits.detach()};
}

// ==== An epoch, and evaluation ===================================================================
struct Score {
  double loss = 0, accuracy = 0, compute_seconds = 0;
  torch::Tensor predicted;  // (N,) int64 on the CPU (evaluate only)
};

Score evaluate(course::Cnn& model, const torch::Tensor& x, const torch::Tensor& y) {
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

Score train_epoch(course::Cnn& model, torch::optim::Optimizer& optimizer, const Data& data,
                  const Config& config, int epoch, int epochs) {
  model->train();  // batch norm: batch statistics; dropout: on
  const int64_t n = data.x_train.size(0);
  const int64_t steps = (n + config.batch_size - 1) / config.batch_size;
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
    auto x = data.x_train.index_select(0, index);        // (B, 1, 28, 28)
    const auto y = data.y_train.index_select(0, index);  // (B,)
    if (config.flip) x = random_flip(x);
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
  return {loss_sum.item<double>() / n, correct.item<double>() / n, compute_seconds, {}};
}

// ==== Reading the result =========================================================================
// (classes, classes) int64: entry [t][p] counts the images of true class t predicted as p.
torch::Tensor confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& labels,
                               int64_t classes) {
  TORCH_CHECK(predicted.dim() == 1 && labels.dim() == 1 && predicted.size(0) == labels.size(0),
              "confusion_matrix expects two 1-D tensors of the same length, got predicted ",
              predicted.sizes(), " and labels ", labels.sizes());
  const auto p = predicted.to(torch::kCPU, torch::kInt64);
  const auto t = labels.to(torch::kCPU, torch::kInt64);
  const auto both = torch::cat({p, t});
  TORCH_CHECK(both.numel() == 0 ||
                  (both.min().item<int64_t>() >= 0 && both.max().item<int64_t>() < classes),
              "confusion_matrix: class numbers must be 0..", classes - 1);
  auto matrix = torch::zeros({classes, classes}, torch::kInt64);  // (true, predicted)
  // Adds 1 at [t[i], p[i]] for every i; accumulate=true sums repeated positions.
  // Python: matrix.index_put_((t, p), torch.ones_like(t), accumulate=True)
  matrix.index_put_({t, p}, torch::ones_like(t), /*accumulate=*/true);
  return matrix;
}

// Draws up to `count` misclassified test images, each captioned with its true class (green) and
// the model's answer (red). Returns how many it drew (0: no file written).
int64_t save_mistakes(const torch::Tensor& images, const torch::Tensor& labels,
                      const torch::Tensor& predicted, int64_t count,
                      const std::filesystem::path& path) {
  const auto wrong = predicted.cpu().ne(labels.cpu()).nonzero().flatten();  // indices
  const auto shown = wrong.slice(0, 0, count);
  if (shown.numel() == 0) return 0;
  auto short_name = [](int64_t label) {  // "T-shirt/top" -> "T-shirt": fits under a tile
    const std::string& name = course::kFashionClasses.at(label);
    return name.substr(0, name.find('/'));
  };
  std::vector<std::pair<std::string, std::string>> captions;
  for (int64_t i = 0; i < shown.size(0); ++i) {
    const int64_t index = shown[i].item<int64_t>();
    captions.emplace_back(short_name(labels[index].item<int64_t>()),
                          short_name(predicted[index].item<int64_t>()));
  }
  course::save_captioned_grid(images.index_select(0, shown), captions, path);
  return shown.size(0);
}

// ==== main: data, model, train, look at the mistakes, report =====================================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("08_cnn", "A small CNN on Fashion-MNIST, with its confusion matrix",
                        defaults);
    flags.add("--lr", config.lr, "Adam's peak learning rate", {1e-6, 1.0});
    flags.add("--batch-size", config.batch_size, "Images per step", {1, 60000});
    flags.add("--dropout", config.model.dropout(), "Chance to zero a hidden unit", {0.0, 0.99});
    flags.add_switch("--no-flip", config.flip, "Train without the random left-right flips");
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data ---------------------------------------------------------------------------
    const Data data = load_data(options, lesson.device);
    const int64_t n_train = data.x_train.size(0);
    fmt::print("data: {} train, {} test images, each (1, 28, 28)\n", n_train, data.x_test.size(0));

    // ---- 2. Model and optimizer -------------------------------------------------------------
    course::Cnn model(config.model);
    model->to(lesson.device);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
    fmt::print("model: CNN conv {}-{}, hidden {}, dropout {} ({} parameters)\n",
               config.model.channels1(), config.model.channels2(), config.model.hidden(),
               config.model.dropout(), course::parameter_count(*model));
    fmt::print("training: Adam lr {} (cosine to 0), batch {}, flips {}\n", config.lr,
               config.batch_size, config.flip ? "on" : "off");

    // ---- 3. Train: an epoch, a test pass, a log line ----------------------------------------
    course::History history(lesson.out_dir, {"train_loss", "train_acc", "test_loss", "test_acc",
                                             "seconds", "compute_seconds"});
    Score test;
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch clock;
      const Score train = train_epoch(model, optimizer, data, config, epoch, options.epochs);
      test = evaluate(model, data.x_test, data.y_test);
      const double seconds = clock.seconds();
      fmt::print(
          "epoch {:2}/{} | train loss {:.4f} acc {:.4f} | test loss {:.4f} acc {:.4f} | "
          "{:.1f}s\n",
          epoch, options.epochs, train.loss, train.accuracy, test.loss, test.accuracy, seconds);
      std::fflush(stdout);  // the line shows at once, also when the output goes to a file
      history.add(epoch, {train.loss, train.accuracy, test.loss, test.accuracy, seconds,
                          train.compute_seconds + test.compute_seconds});
    }

    // ---- 4. Look at the mistakes: confusion matrix and misclassified images ------------------
    const auto matrix = confusion_matrix(test.predicted, data.y_test, /*classes=*/10);
    fmt::print("confusion matrix on {} test images (rows: true class, columns: predicted)\n{}",
               data.y_test.size(0), course::format_confusion(matrix, course::kFashionClasses));
    course::plot_confusion(matrix, course::kFashionClasses, lesson.out_dir / "confusion.png");
    const int64_t drawn = save_mistakes(data.test_images, data.y_test, test.predicted,
                                        config.mistakes_shown, lesson.out_dir / "mistakes.png");
    fmt::print("misclassified: {} of {} test images, {} of them drawn in mistakes.png\n",
               data.y_test.size(0) - matrix.diagonal().sum().item<int64_t>(), data.y_test.size(0),
               drawn);

    // ---- 5. Report: curves and the RESULT line ----------------------------------------------
    history.plot("08_cnn");
    fmt::print("wrote metrics.csv, loss.png, accuracy.png, confusion.png and mistakes.png in {}\n",
               lesson.out_dir.string());
    history.print_result("08_cnn", n_train);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
