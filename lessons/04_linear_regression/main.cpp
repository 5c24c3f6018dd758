// Lesson 04: linear regression, three ways.
//
// What it teaches: fitting a line, then a cubic polynomial, to noisy points
//   1. by hand: tensors with requires_grad, loss.backward(), the update w -= lr * grad inside
//      torch::NoGradGuard, and zeroing the gradients (hand_step in linear_regression.cpp);
//   2. the library way: torch::nn::Linear and torch::optim::SGD (sgd_step);
//   3. exactly: the closed-form least-squares answer from torch::linalg_lstsq,
// and how far each trained answer is from the exact one.
// What it leaves out: real data (Fashion-MNIST starts in lesson 05), mini-batches and data
// loaders (later lessons), a GPU (--device cuda works, but 200 points are far too few to gain
// from one). The data is synthetic, made from --seed: this lesson is about the mechanics.
// How to run: ./course run 04   or   build/<preset>/bin/04_linear_regression --epochs 1000 --lr 0.5
//             --degree 3   (--smoke: fewer points, for the tests). Outputs go to --out.
#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "course/device.h"
#include "course/flags.h"
#include "course/lesson.h"
#include "course/metrics.h"
#include "course/plot.h"
#include "course/progress.h"
#include "course/timer.h"
#include "linear_regression.h"

namespace lr = course::linear_regression;

// =============================================================================================
// Configuration (the number of gradient steps per fit is --epochs: every step sees all points)
// =============================================================================================
struct Config {
  int64_t train_points = 200;  // points to fit (--smoke: 64)
  int64_t test_points = 100;   // fresh points from the same curve, to check each fit
  double noise = 0.15;         // standard deviation of the noise added to y
  double lr = 0.5;             // learning rate of both ways (--lr; try 1.5: the loss blows up)
  int64_t degree = 3;          // degree of the polynomial fitted after the line (--degree)
};

// Steps 1, 10, 100, ... and the last one print a line, write a metrics row and check for NaN.
bool is_log_step(int64_t step, int64_t steps) {
  int64_t power = 1;
  while (power < step) power *= 10;
  return power == step || step == steps;
}

// What one fit reports back.
struct FitReport {
  std::vector<double> losses;  // train MSE at every step, for the loss plot
  double step_seconds = 0;     // time inside the steps: forward + backward + update
  double wall_seconds = 0;     // time of the whole loop, logging included
};

// =============================================================================================
// Training: one loop for both ways. `step` does one update and returns the loss it saw;
// `predict` maps x (N) to y (N) with the current parameters.
// =============================================================================================
FitReport fit(const std::string& name, int64_t degree, int method,
              const std::function<torch::Tensor()>& step,
              const std::function<torch::Tensor(const torch::Tensor&)>& predict,
              const lr::Points& test, int64_t steps, const Config& config,
              course::MetricsLog& metrics, const torch::Device& device) {
  FitReport report;
  std::vector<torch::Tensor> losses;  // kept as tensors: no .item() (a sync on a GPU) per step
  losses.reserve(static_cast<size_t>(steps));
  course::ProgressBar bar(steps, name);
  course::Stopwatch wall;
  for (int64_t s = 1; s <= steps; ++s) {
    const bool log = is_log_step(s, steps);
    double test_loss = 0;
    if (log) {  // on the parameters this step starts from, like the loss the step returns
      torch::NoGradGuard no_grad;  // evaluation builds no graph
      test_loss = lr::mse(predict(test.x), test.y).item<double>();
    }
    course::Stopwatch clock;
    losses.push_back(step());
    // A GPU runs the step in the background: wait, so the stopwatch measures the work.
    course::synchronize(device);
    report.step_seconds += clock.seconds();
    if (!log) continue;

    // A log point: read the loss, check it, write it down.
    const double train_loss = losses.back().item<double>();
    if (!std::isfinite(train_loss)) {
      throw std::runtime_error(fmt::format(
          "loss became {} at step {} of '{}'; lower --lr (now {}): a step that is too large "
          "overshoots the minimum further every time",
          train_loss, s, name, config.lr));
    }
    metrics.write({static_cast<double>(degree), static_cast<double>(method), static_cast<double>(s),
                   train_loss, test_loss, wall.seconds()});
    fmt::print("{:<28} step {:>5}/{} | train mse {:.5f} | test mse {:.5f}\n", name, s, steps,
               train_loss, test_loss);
    bar.update(s, fmt::format("loss {:.5f}", train_loss));
  }
  bar.finish();
  report.wall_seconds = wall.seconds();
  const auto all = torch::stack(losses).to(torch::kCPU, torch::kDouble);  // (steps)
  report.losses.assign(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
  return report;
}

// "[ 1.0123 -0.4876 ...]" for a (D + 1) coefficient vector.
std::string show(const torch::Tensor& coefficients) {
  const auto c = coefficients.to(torch::kCPU, torch::kDouble);
  std::string text = "[";
  for (int64_t k = 0; k < c.size(0); ++k) text += fmt::format(" {:8.4f}", c[k].item<double>());
  return text + " ]";
}

// Values of a (N) tensor as doubles, for the plots.
std::vector<double> values(const torch::Tensor& t) {
  const auto d = t.detach().to(torch::kCPU, torch::kDouble).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = 1000;
    course::Flags flags("04_linear_regression",
                        "Fit a line and a polynomial: by hand, with nn::Linear + optim::SGD, "
                        "and exactly with least squares",
                        defaults);
    flags.app().add_option("--lr", config.lr, "learning rate of both ways (default 0.5)");
    flags.app()
        .add_option("--degree", config.degree, "degree of the polynomial fit")
        ->check(CLI::Range(2, 10));
    const course::Options& options = flags.parse(argc, argv);
    if (!(config.lr > 0)) throw std::invalid_argument("--lr must be positive, for example 0.5");
    if (options.smoke) config.train_points = 64;
    const course::Lesson lesson = course::begin_lesson(flags);
    const torch::Device device = lesson.device;
    const int64_t steps = options.epochs;

    // ===== 1. Data: points on a cubic with noise, made on the CPU from --seed =================
    const lr::Points train_cpu = lr::make_points(config.train_points, config.noise);
    const lr::Points test_cpu = lr::make_points(config.test_points, config.noise);
    const lr::Points train{train_cpu.x.to(device), train_cpu.y.to(device)};
    const lr::Points test{test_cpu.x.to(device), test_cpu.y.to(device)};
    fmt::print(
        "data: {} train + {} test points of y = 1 - 0.5 x - 1.5 x^2 + 2 x^3 + noise (std "
        "{}), x in [-1, 1)\n",
        config.train_points, config.test_points, config.noise);

    course::MetricsLog metrics(lesson.out_dir / "metrics.csv",
                               {"degree", "method", "step", "train_loss", "test_loss", "seconds"});
    std::vector<course::Series> fits = {{"data", values(train_cpu.x), values(train_cpu.y), true}};
    std::vector<course::Series> curves;
    const auto grid = torch::linspace(-1, 1, /*steps=*/101);  // x values for drawing the fits
    fits.push_back({"true curve", values(grid), values(lr::true_curve(grid))});
    double step_seconds = 0, wall_seconds = 0, final_mse = 0;

    for (const int64_t degree : {int64_t{1}, config.degree}) {
      fmt::print("\n---- degree {}: {} parameters ----\n", degree, degree + 1);
      // ===== 2. The exact answer: least squares in one call ==================================
      const auto exact = lr::closed_form(train.x, train.y, degree);  // (D + 1)

      // ===== 3. Way 1, by hand: two tensors, backward(), and our own update ==================
      lr::HandModel hand = lr::make_hand_model(degree, device);
      const FitReport by_hand = fit(
          fmt::format("degree {}, by hand", degree), degree, /*method=*/1,
          [&] { return lr::hand_step(hand, train.x, train.y, config.lr); },
          [&](const torch::Tensor& x) { return hand.forward(x); }, test, steps, config, metrics,
          device);

      // ===== 4. Way 2, the library: nn::Linear + optim::SGD ==================================
      lr::PolynomialRegression model(degree);  // Linear(D, 1), LibTorch's default random init
      model->to(device);
      torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(config.lr));
      const FitReport by_sgd = fit(
          fmt::format("degree {}, nn::Linear + SGD", degree), degree, /*method=*/2,
          [&] { return lr::sgd_step(model, optimizer, train.x, train.y); },
          [&](const torch::Tensor& x) { return model->forward(x); }, test, steps, config, metrics,
          device);

      // ===== 5. Compare: coefficients c0..cD and their distance from the exact answer ========
      torch::NoGradGuard no_grad;
      const auto hand_c = lr::coefficients(hand), sgd_c = lr::coefficients(model);
      fmt::print("coefficients c0..c{}        train mse  max |c - exact|\n", degree);
      fmt::print("  closed form   {}  {:.5f}\n", show(exact),
                 lr::mse(lr::evaluate_polynomial(exact, train.x), train.y).item<double>());
      fmt::print("  by hand       {}  {:.5f}  {:.2e}\n", show(hand_c),
                 lr::mse(hand.forward(train.x), train.y).item<double>(),
                 (hand_c - exact).abs().max().item<double>());
      fmt::print("  nn + SGD      {}  {:.5f}  {:.2e}\n", show(sgd_c),
                 lr::mse(model->forward(train.x), train.y).item<double>(),
                 (sgd_c - exact).abs().max().item<double>());
      final_mse = lr::mse(model->forward(test.x), test.y).item<double>();
      fmt::print("  test mse of the nn + SGD fit: {:.5f}\n", final_mse);

      for (const FitReport* report : {&by_hand, &by_sgd}) {
        std::vector<double> step_axis, log_loss;
        for (size_t i = 0; i < report->losses.size(); ++i) {
          step_axis.push_back(static_cast<double>(i + 1));
          log_loss.push_back(std::log10(report->losses[i]));
        }
        const char* way = report == &by_hand ? "by hand" : "nn + SGD";
        curves.push_back({fmt::format("degree {}, {}", degree, way), step_axis, log_loss});
        step_seconds += report->step_seconds;
        wall_seconds += report->wall_seconds;
      }
      fits.push_back({fmt::format("degree {}, by hand", degree), values(grid),
                      values(hand.forward(grid.to(device)))});
      fits.push_back({fmt::format("degree {}, nn + SGD", degree), values(grid),
                      values(model->forward(grid.to(device)))});
    }

    // ===== 6. Save the pictures ===============================================================
    course::plot_lines(fits, "Fits to the training points", "x", "y", lesson.out_dir / "fits.png");
    course::plot_lines(curves, "Training loss: log10 of the train MSE", "step", "log10",
                       lesson.out_dir / "losses.png");
    fmt::print("\nwrote fits.png, losses.png and metrics.csv to {}\n", lesson.out_dir.string());

    const int64_t total_steps = 4 * steps;  // two degrees, two ways
    fmt::print(
        "RESULT lesson=04_linear_regression epochs={} epoch_time_s={:.6g} "
        "train_samples_per_s={:.6g} final_mse={:.6g} outside_share={:.6g}\n",
        steps, wall_seconds / static_cast<double>(total_steps),
        static_cast<double>(config.train_points * total_steps) / wall_seconds, final_mse,
        1.0 - step_seconds / wall_seconds);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
