// 04_linear_regression: the first lesson that trains something. It fits a line, then a cubic
// polynomial, to noisy points three ways and checks that they agree.
//
// What it teaches: gradient descent by hand (fit_by_hand: requires_grad, loss.backward(), the
// update w -= lr * w.grad() inside torch::NoGradGuard, zeroing the gradients); the same with
// torch::nn::Linear and torch::optim::SGD (fit_with_optimizer); the exact least-squares answer
// (closed_form, torch::linalg_lstsq); polynomial features: a polynomial is linear in x, ..., x^D.
// What it leaves out on purpose: real data (Fashion-MNIST starts in lesson 05), mini-batches and
// data loaders (later lessons), and a GPU (--device cuda works, but 200 points are too few to
// gain from one). The data is synthetic, made from --seed: this lesson is about the mechanics.
//
// Run:  ./course run 04                    (1000 steps per fit, about a second)
//       ./course run 04 -- --degree 5 --lr 0.5 --epochs 1000   (--epochs: steps per fit)
#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "course/device.h"
#include "course/lesson.h"
#include "course/plot.h"
#include "course/timer.h"

// Dimension legend: N = points, D = degree = features per point (x, x^2, ..., x^D). A vector of
// coefficients c0..cD is (D + 1): the polynomial c0 + c1 x + c2 x^2 + ... + cD x^D.

// ==== Configuration ==============================================================================
struct Config {
  int64_t train_points = 200;  // points to fit (--smoke: 64)
  int64_t test_points = 100;   // fresh points from the same curve, to check each fit
  double noise = 0.15;         // standard deviation of the noise added to y
  double lr = 0.5;             // learning rate of both ways (--lr; try 1.5: the loss blows up)
  int64_t degree = 3;          // degree of the polynomial fitted after the line (--degree)
};

// ==== Data: points on a cubic, with noise ========================================================
// The curve behind the data, y = 1 - 0.5 x - 1.5 x^2 + 2 x^3, as its coefficients (4).
torch::Tensor true_coefficients() {
  return torch::tensor({1.0F, -0.5F, -1.5F, 2.0F});
}

// c0 + c1 x + ... + cD x^D for c (D + 1) and x (N) -> (N), as c0 + x (c1 + x (c2 + ... x cD)).
torch::Tensor evaluate_polynomial(const torch::Tensor& coefficients, const torch::Tensor& x) {
  auto y = torch::zeros_like(x) + coefficients[-1];
  for (int64_t k = coefficients.size(0) - 2; k >= 0; --k) y = y * x + coefficients[k];
  return y;
}

struct Points {
  torch::Tensor x, y;  // (N) each
};

// n points with x uniform in [-1, 1) and y on the true curve plus noise * N(0, 1), made on the CPU
// by LibTorch's default generator (the same --seed, the same points, in Python too), then moved.
Points make_points(int64_t n, double noise, torch::Device device) {
  const auto x = torch::rand({n}) * 2 - 1;  // (N)
  const auto y = evaluate_polynomial(true_coefficients(), x) + noise * torch::randn({n});
  return {x.to(device), y.to(device)};
}

// A polynomial is linear in its coefficients: (N) -> (N, D), the columns x, x^2, ..., x^D.
// Python: torch.stack([x**k for k in range(1, degree + 1)], dim=1)
torch::Tensor polynomial_features(const torch::Tensor& x, int64_t degree) {
  TORCH_CHECK(x.dim() == 1 && degree >= 1,
              "polynomial_features wants x (N) and a degree >= 1, got ", x.sizes(), " and ",
              degree);
  std::vector<torch::Tensor> columns;
  for (int64_t k = 1; k <= degree; ++k) columns.push_back(x.pow(k));  // (N) each
  return torch::stack(columns, /*dim=*/1);                            // (N, D)
}

// Mean squared error of two (N) tensors -> (). Python: ((prediction - target) ** 2).mean()
torch::Tensor mse(const torch::Tensor& prediction, const torch::Tensor& target) {
  return (prediction - target).pow(2).mean();
}

// Prints the loss at steps 1, 10, 100, ... and the last, and stops on a NaN there. Reading a
// number (.item()) makes a GPU wait, so a training loop reads one only at such log points.
void log_step(const std::string& name, int64_t step, int64_t steps, const torch::Tensor& loss) {
  int64_t power = 1;
  while (power < step) power *= 10;
  if (power != step && step != steps) return;
  const double value = loss.item<double>();
  if (!std::isfinite(value)) {
    throw std::runtime_error(
        fmt::format("loss became {} at step {} of '{}'; lower --lr (a step too large overshoots)",
                    value, step, name));
  }
  fmt::print("{:<28} step {:>5}/{} | train mse {:.5f}\n", name, step, steps, value);
}

// ==== Way 1: gradient descent by hand ============================================================
// Two tensors that autograd tracks, and nothing else: prediction = features @ weight + bias.
struct HandModel {
  torch::Tensor weight;  // (D)
  torch::Tensor bias;    // ()
};

// `steps` full-batch steps on features (N, D) and targets y (N); returns the loss before each.
std::vector<torch::Tensor> fit_by_hand(HandModel& model, const torch::Tensor& features,
                                       const torch::Tensor& y, double lr, int64_t steps,
                                       const std::string& name) {
  std::vector<torch::Tensor> losses;
  for (int64_t step = 1; step <= steps; ++step) {
    const auto prediction = features.matmul(model.weight) + model.bias;  // (N, D) @ (D) -> (N)
    const auto loss = mse(prediction, y);  // (): autograd has recorded how it was computed
    loss.backward();                       // weight.grad() += d loss / d weight, same for bias
    {
      torch::NoGradGuard no_grad;  // the update is not part of the model. Python: torch.no_grad()
      model.weight -= lr * model.weight.grad();  // a step downhill
      model.bias -= lr * model.bias.grad();
      model.weight.grad().zero_();  // backward() ADDS to .grad(): clear it for the next step
      model.bias.grad().zero_();
    }
    losses.push_back(loss.detach());
    log_step(name, step, steps, losses.back());
  }
  return losses;
}

// The coefficients c0..cD (D + 1) the model stands for: [bias, weight...].
torch::Tensor coefficients(const HandModel& model) {
  return torch::cat({model.bias.detach().reshape({1}), model.weight.detach()});
}

// ==== Way 2: nn::Linear + an optimizer ===========================================================
// The same loop with the library's parts: Linear(D, 1) holds weight (1, D) and bias (1), the
// optimizer does the update. Plain SGD does exactly what fit_by_hand writes out.
std::vector<torch::Tensor> fit_with_optimizer(torch::nn::Linear& model,
                                              torch::optim::Optimizer& optimizer,
                                              const torch::Tensor& features, const torch::Tensor& y,
                                              int64_t steps, const std::string& name) {
  std::vector<torch::Tensor> losses;
  for (int64_t step = 1; step <= steps; ++step) {
    optimizer.zero_grad();  // the two .grad().zero_() lines of fit_by_hand
    const auto prediction = model->forward(features).squeeze(/*dim=*/1);  // (N, 1) -> (N)
    const auto loss = mse(prediction, y);
    loss.backward();
    optimizer.step();  // SGD: p -= lr * p.grad() for every parameter, without autograd
    losses.push_back(loss.detach());
    log_step(name, step, steps, losses.back());
  }
  return losses;
}

torch::Tensor coefficients(const torch::nn::Linear& model) {
  return torch::cat({model->bias.detach(), model->weight.detach().flatten()});  // (D + 1)
}

// ==== Way 3: the exact answer ====================================================================
// The coefficients c (D + 1) that minimise |A c - y|^2, A = [1, x, x^2, ..., x^D] (N, D + 1).
// Python: torch.linalg.lstsq(A, y[:, None]).solution[:, 0]
torch::Tensor closed_form(const torch::Tensor& x, const torch::Tensor& y, int64_t degree) {
  const auto ones = torch::ones({x.size(0), 1}, x.options());
  const auto design = torch::cat({ones, polynomial_features(x, degree)}, /*dim=*/1);  // (N, D+1)
  // (solution, residuals, rank, singular values): the solution is (D + 1, 1).
  return std::get<0>(torch::linalg_lstsq(design, y.unsqueeze(1))).squeeze(1);
}

// ==== Reporting ==================================================================================
std::vector<double> values(const torch::Tensor& tensor) {
  const auto cpu = tensor.detach().to(torch::kCPU, torch::kDouble).contiguous();
  return {cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel()};
}

// One row of the comparison: coefficients, train and test MSE, distance from the exact answer.
// Returns the test MSE.
double print_row(const std::string& label, const torch::Tensor& c, const torch::Tensor& exact,
                 const Points& train, const Points& test) {
  std::string shown;
  for (const double value : values(c)) shown += fmt::format(" {:8.4f}", value);
  const double test_mse = mse(evaluate_polynomial(c, test.x), test.y).item<double>();
  fmt::print("  {:<14}[{} ]  {:.5f}  {:.5f}  {:.2e}\n", label, shown,
             mse(evaluate_polynomial(c, train.x), train.y).item<double>(), test_mse,
             (c - exact).abs().max().item<double>());
  return test_mse;
}

// For losses.png: log10 of the loss against the step.
course::Series loss_curve(const std::string& name, const std::vector<torch::Tensor>& losses) {
  const auto steps = torch::arange(1, static_cast<int64_t>(losses.size()) + 1);
  return {name, values(steps), values(torch::stack(losses).log10())};
}

// ==== main: data, then per degree the exact answer, two fits, the comparison; pictures ==========
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = 1000;  // steps per fit; each step sees every point, so a step is an epoch
    course::Flags flags("04_linear_regression",
                        "Fit a line and a cubic: by hand, with nn::Linear + SGD, and exactly",
                        defaults);
    flags.add("--lr", config.lr, "Learning rate of both ways (1.5: the loss blows up)", {1e-6, 10});
    flags.add("--degree", config.degree, "Degree of the polynomial fitted after the line", {2, 10});
    const course::Options& options = flags.parse(argc, argv);
    if (options.smoke) config.train_points = 64;
    const course::Lesson lesson = course::begin_lesson(flags);
    const int64_t steps = options.epochs;

    // ---- 1. Data: made on the CPU from --seed, then moved ---------------------------------------
    const Points train = make_points(config.train_points, config.noise, lesson.device);
    const Points test = make_points(config.test_points, config.noise, lesson.device);
    fmt::print(
        "data: {} train + {} test points of y = 1 - 0.5 x - 1.5 x^2 + 2 x^3 + noise (std {}), "
        "x in [-1, 1)\n",
        config.train_points, config.test_points, config.noise);

    const auto grid = torch::linspace(-1, 1, /*steps=*/101);  // x values for drawing the fits
    auto curve = [&grid](const std::string& name, const torch::Tensor& c) -> course::Series {
      return {name, values(grid), values(evaluate_polynomial(c.cpu(), grid))};
    };
    std::vector<course::Series> fits = {{"data", values(train.x), values(train.y), /*points=*/true},
                                        curve("true curve", true_coefficients())};
    std::vector<course::Series> curves;
    double seconds = 0, final_mse = 0;
    for (const int64_t degree : {int64_t{1}, config.degree}) {
      fmt::print("\n---- degree {}: {} parameters ----\n", degree, degree + 1);
      const auto features = polynomial_features(train.x, degree);  // (N, D)

      // ---- 2. The exact answer -----------------------------------------------------------------
      const auto exact = closed_form(train.x, train.y, degree);  // (D + 1)

      // ---- 3. Way 1, by hand: two tensors, backward(), our own update --------------------------
      course::Stopwatch clock;
      // Python: torch.zeros(D, requires_grad=True): autograd will fill w.grad for w.
      const auto tracked = torch::TensorOptions().device(lesson.device).requires_grad(true);
      HandModel hand{torch::zeros({degree}, tracked), torch::zeros({}, tracked)};  // all zeros
      const auto hand_name = fmt::format("degree {}, by hand", degree);
      const auto hand_losses = fit_by_hand(hand, features, train.y, config.lr, steps, hand_name);

      // ---- 4. Way 2, the library: nn::Linear (LibTorch's default random init) + optim::SGD ----
      torch::nn::Linear linear(torch::nn::LinearOptions(/*in_features=*/degree, /*out=*/1));
      linear->to(lesson.device);
      torch::optim::SGD optimizer(linear->parameters(), torch::optim::SGDOptions(config.lr));
      const auto sgd_name = fmt::format("degree {}, nn::Linear + SGD", degree);
      const auto sgd_losses =
          fit_with_optimizer(linear, optimizer, features, train.y, steps, sgd_name);
      course::synchronize(lesson.device);  // a GPU works in the background: wait for the clock
      seconds += clock.seconds();

      // ---- 5. Compare: the coefficients, and their distance from the exact answer --------------
      fmt::print("coefficients c0..c{}        train mse  test mse  max |c - exact|\n", degree);
      print_row("closed form", exact, exact, train, test);
      print_row("by hand", coefficients(hand), exact, train, test);
      final_mse = print_row("nn + SGD", coefficients(linear), exact, train, test);
      curves.push_back(loss_curve(hand_name, hand_losses));
      curves.push_back(loss_curve(sgd_name, sgd_losses));
      fits.push_back(curve(hand_name, coefficients(hand)));
      fits.push_back(curve(sgd_name, coefficients(linear)));
    }

    // ---- 6. Pictures and the RESULT line ------------------------------------------------------
    course::plot_lines(fits, "Fits to the training points", "x", "y", lesson.out_dir / "fits.png");
    course::plot_lines(curves, "Training loss: log10 of the train MSE", "step", "log10",
                       lesson.out_dir / "losses.png");
    fmt::print("\nwrote fits.png and losses.png in {}\n", lesson.out_dir.string());
    const double total_steps = 4.0 * static_cast<double>(steps);  // two degrees, two ways
    course::print_result(
        "04_linear_regression",
        {{"epochs", static_cast<double>(steps)},
         {"epoch_time_s", seconds / total_steps},
         {"train_samples_per_s", static_cast<double>(config.train_points) * total_steps / seconds},
         {"final_mse", final_mse}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
