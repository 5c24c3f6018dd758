// 14_gan: a DCGAN on Fashion-MNIST: two networks trained against each other, and a number for
// how good the generated clothes are.
//
// What it teaches:
//   - a generator of transposed convolutions and a discriminator of strided convolutions
//     (dcgan.h), DCGAN's weight initialisation through module->apply
//   - the GAN step: the discriminator learns real from fake (fake.detach(): its step leaves the
//     generator alone), then the generator learns to fool it with the non-saturating loss,
//     log D(G(z)) maximised; two Adam optimizers with beta1 = 0.5
//   - watching a game instead of a falling loss: both losses, D(x) and D(G(z)), and a fixed noise
//     batch drawn after every epoch into progress.png
//   - scoring samples with a classifier (lesson 08's CNN, the "judge"): the share it classifies
//     confidently and the spread over the ten classes (mode collapse shows as one class), beside
//     the same score of real test images
// What it leaves out on purpose: conditional GANs, Wasserstein losses, FID (it needs a large
// pretrained network) and larger images.
//
// Run:  ./course run 14               (5 epochs; minutes: README.md has the measured run)
//       ./course run 14 -- --smoke    (512 images, seconds)
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/history.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/plot.h"
#include "course/progress.h"
#include "course/timer.h"
#include "dcgan.h"
#include "judge.h"

// Dimension legend: N = images in a split, B = images in a batch, Z = noise size, 10 classes.

// ==== Configuration ==============================================================================
struct Config {
  course::GeneratorOptions generator;          // noise 64, width 32
  course::DiscriminatorOptions discriminator;  // width 32
  double lr = 2e-4;           // Adam's learning rate, both networks (DCGAN's value)
  double beta1 = 0.5;         // Adam's beta1: 0.5, not 0.9; less momentum keeps the game steadier
  int64_t batch_size = 128;   // real images per step (and as many fakes)
  int64_t scored = 2000;      // generated images the judge scores (and real test images)
  int judge_epochs = 2;       // epochs to train the judge when there is no judge.pt
  double confident = 0.9;     // the judge is "confident" when its top class has p > 0.9
  int64_t progress_row = 16;  // fixed noise vectors, one row per epoch in progress.png
};
constexpr int kEpochs = 5;            // default --epochs
constexpr int64_t kLogEvery = 50;     // steps between progress updates (and NaN checks)
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when scoring

// ==== Data: two scalings of the same pixels =====================================================
// The GAN's images: uint8 (N, 28, 28) -> (N, 1, 28, 28) in [-1, 1], the range of tanh.
torch::Tensor to_gan_range(const torch::Tensor& pixels) {
  return (pixels.to(torch::kFloat32) / 127.5 - 1.0).unsqueeze(1);  // Python: x / 127.5 - 1
}

// The judge was trained on normalize_fashion's scale: [-1, 1] -> [0, 1] -> (x - mean) / std.
torch::Tensor gan_to_judge(const torch::Tensor& images) {
  return ((images + 1.0) / 2.0 - course::kFashionMean) / course::kFashionStd;
}

// ==== The two networks, with DCGAN's initialisation ==============================================
std::pair<course::Generator, course::Discriminator> make_networks(const Config& config,
                                                                  torch::Device device) {
  course::Generator generator(config.generator);
  course::Discriminator discriminator(config.discriminator);
  generator->apply(course::init_dcgan);  // Python: generator.apply(weights_init)
  discriminator->apply(course::init_dcgan);
  generator->to(device);
  discriminator->to(device);
  return {generator, discriminator};
}

// ==== The losses: binary cross-entropy on the discriminator's logits =============================
struct DiscriminatorLoss {
  torch::Tensor loss;  // () -log D(x) - log(1 - D(G(z))), batch means
  torch::Tensor real;  // () D(x): mean probability "real" for the real images
  torch::Tensor fake;  // () D(G(z)): the same for the fakes
};

DiscriminatorLoss discriminator_loss(course::Discriminator& discriminator,
                                     const torch::Tensor& real, const torch::Tensor& fake) {
  namespace F = torch::nn::functional;
  const auto real_logits = discriminator->forward(real);  // (B,)
  const auto fake_logits = discriminator->forward(fake);  // (B,)
  // Real images are labelled 1, fakes 0. Python: F.binary_cross_entropy_with_logits(l, ones)
  const auto loss =
      F::binary_cross_entropy_with_logits(real_logits, torch::ones_like(real_logits)) +
      F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
  return {loss, torch::sigmoid(real_logits).mean().detach(),
          torch::sigmoid(fake_logits).mean().detach()};
}

// The non-saturating generator loss: -log D(G(z)), the fakes labelled "real". Minimising
// log(1 - D(G(z))) instead, the game's own loss, gives almost no gradient while D easily wins.
torch::Tensor generator_loss(course::Discriminator& discriminator, const torch::Tensor& fake) {
  const auto logits = discriminator->forward(fake);  // (B,)
  return torch::nn::functional::binary_cross_entropy_with_logits(logits, torch::ones_like(logits));
}

// ==== One GAN step: first the discriminator, then the generator =================================
struct StepResult {
  torch::Tensor d_loss, g_loss, d_real, d_fake;  // () each, before the steps; no .item() here
};

StepResult train_step(course::Generator& generator, course::Discriminator& discriminator,
                      torch::optim::Optimizer& g_optimizer, torch::optim::Optimizer& d_optimizer,
                      const torch::Tensor& real, const torch::Tensor& noise) {
  const auto fake = generator->forward(noise);  // (B, 1, 28, 28)
  // The discriminator's step. detach(): its loss must not reach the generator's weights.
  d_optimizer.zero_grad();
  const auto d = discriminator_loss(discriminator, real, fake.detach());
  d.loss.backward();
  d_optimizer.step();
  // The generator's step, through the discriminator just updated (its gradients, filled here
  // too, are cleared by its next zero_grad).
  g_optimizer.zero_grad();
  const auto g_loss = generator_loss(discriminator, fake);
  g_loss.backward();
  g_optimizer.step();
  return {d.loss.detach(), g_loss.detach(), d.real, d.fake};
}

// ==== An epoch ===================================================================================
struct EpochResult {
  double d_loss = 0, g_loss = 0, d_real = 0, d_fake = 0, compute_seconds = 0;
};

EpochResult train_epoch(course::Generator& generator, course::Discriminator& discriminator,
                        torch::optim::Optimizer& g_optimizer, torch::optim::Optimizer& d_optimizer,
                        const torch::Tensor& images, const Config& config, int epoch, int epochs) {
  generator->train();  // batch norm: the batch's own statistics
  discriminator->train();
  const int64_t n = images.size(0);
  const int64_t steps = n / config.batch_size;  // whole batches only: a batch of 1 breaks BN
  TORCH_CHECK(steps > 0, "--batch-size ", config.batch_size, " is more than the ", n, " images");
  const auto order = torch::randperm(n, torch::kInt64).to(images.device());  // (N,)
  course::ProgressBar bar(steps, fmt::format("epoch {}/{}", epoch, epochs));
  auto sums = torch::zeros({4}, images.options());  // d_loss, g_loss, d_real, d_fake
  double compute_seconds = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const auto index = order.slice(0, step * config.batch_size, (step + 1) * config.batch_size);
    const auto real = images.index_select(0, index);  // (B, 1, 28, 28)
    const auto noise = torch::randn({config.batch_size, config.generator.noise()},
                                    images.options());  // (B, Z)
    course::Stopwatch clock;
    const auto r = train_step(generator, discriminator, g_optimizer, d_optimizer, real, noise);
    course::synchronize(images.device());
    compute_seconds += clock.seconds();
    sums += torch::stack({r.d_loss, r.g_loss, r.d_real, r.d_fake});
    if ((step + 1) % kLogEvery == 0 || step + 1 == steps) {  // read numbers only here
      const auto mean = (sums / static_cast<double>(step + 1)).cpu();
      const double d_loss = mean[0].item<double>(), g_loss = mean[1].item<double>();
      if (!std::isfinite(d_loss + g_loss)) {  // NaN or infinite in either
        throw std::runtime_error(
            fmt::format("a loss became NaN at epoch {} (D {}, G {}); lower --lr (now {})", epoch,
                        d_loss, g_loss, config.lr));
      }
      bar.update(step + 1, fmt::format("D {:.3f} G {:.3f}", d_loss, g_loss));
    }
  }
  bar.finish();
  const auto mean = (sums / static_cast<double>(steps)).cpu();
  return {mean[0].item<double>(), mean[1].item<double>(), mean[2].item<double>(),
          mean[3].item<double>(), compute_seconds};
}

// Samples of the fixed noise, as pixels in [0, 1] on the CPU: (B, 1, 28, 28).
torch::Tensor draw_samples(course::Generator& generator, const torch::Tensor& noise) {
  torch::NoGradGuard no_grad;
  generator->eval();  // batch norm: running averages, so a sample does not depend on its batch
  const auto images = generator->forward(noise);
  generator->train();
  return ((images + 1.0) / 2.0).cpu();
}

// ==== The judge: lesson 08's CNN scores images ===================================================
struct Quality {
  double confident = 0;     // share of images whose top class has probability > threshold
  double entropy_bits = 0;  // entropy of the predicted classes' histogram; uniform: log2(10)
  torch::Tensor shares;     // (10,) float64: share of the images predicted as each class
};

Quality quality_of(const torch::Tensor& logits, double threshold) {
  const auto probabilities = torch::softmax(logits.to(torch::kFloat64), /*dim=*/1);  // (N, 10)
  const auto [top, predicted] = probabilities.max(/*dim=*/1);                        // (N,) each
  const auto counts =
      torch::bincount(predicted.cpu(), /*weights=*/{}, /*minlength=*/logits.size(1));
  const auto shares = counts.to(torch::kFloat64) / static_cast<double>(logits.size(0));  // (10,)
  // H = -sum p log2 p, with 0 log 0 = 0. Python: -torch.xlogy(p, p).sum() / math.log(2)
  const double entropy = -torch::xlogy(shares, shares).sum().item<double>() / std::log(2.0) + 0.0;
  return {top.gt(threshold).to(torch::kFloat64).mean().item<double>(), entropy, shares};
}

// The judge's logits (N, 10) for images (N, 1, 28, 28) in the GAN's range [-1, 1].
torch::Tensor judge_logits(course::Cnn& judge, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  judge->eval();  // batch norm: running averages; dropout: off
  std::vector<torch::Tensor> logits;
  for (int64_t start = 0; start < images.size(0); start += kEvalBatch)
    logits.push_back(judge->forward(gan_to_judge(images.slice(0, start, start + kEvalBatch))));
  return torch::cat(logits);
}

std::string format_quality(const Quality& quality) {
  return fmt::format("confident {:.3f} | class entropy {:.3f} bits | largest class {:.3f}",
                     quality.confident, quality.entropy_bits, quality.shares.max().item<double>());
}

// ==== main: data, judge, models, the game, the score =============================================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("14_gan", "A DCGAN on Fashion-MNIST, its samples scored by a classifier",
                        defaults);
    flags.add("--lr", config.lr, "Adam's learning rate (both networks)", {1e-6, 1.0});
    flags.add("--beta1", config.beta1, "Adam's beta1 (both networks)", {0.0, 0.999});
    flags.add("--batch-size", config.batch_size, "Real images per step", {2, 60000});
    flags.add("--noise", config.generator.noise(), "Noise numbers per image (Z)", {1, 1024});
    flags.add("--width", config.generator.width(), "Feature maps of both networks", {1, 512});
    flags.add("--judge-epochs", config.judge_epochs, "Epochs to train the judge", {1, 100});
    const course::Options& options = flags.parse(argc, argv);
    config.discriminator.width(config.generator.width());
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data: the training images in [-1, 1]; the test images for the judge ------------
    const auto train = course::load_fashion_mnist(options, /*train=*/true);
    const auto test = course::load_fashion_mnist(options, /*train=*/false);
    const auto images = to_gan_range(train.images).to(lesson.device);  // (N, 1, 28, 28)
    fmt::print("data: {} train images in [-1, 1], {} test images for the judge\n", images.size(0),
               test.images.size(0));

    // ---- 2. The judge: lesson 08's CNN, trained once and kept next to the runs --------------
    // (in the lesson's folder, beside the run_N folders; --smoke trains its own on 512 images)
    const auto judge_path =
        lesson.out_dir.parent_path() / (options.smoke ? "judge-smoke.pt" : "judge.pt");
    auto [judge, how] =
        course::load_or_train_judge(judge_path, train, config.judge_epochs, lesson.device);
    const auto verdicts = judge_logits(judge, to_gan_range(test.images).to(lesson.device));
    fmt::print("judge: lesson 08's CNN {} (test acc {:.4f})\n", how,
               verdicts.argmax(1).cpu().eq(test.labels).to(torch::kFloat64).mean().item<double>());
    std::fflush(stdout);  // the line shows at once, also when the output goes to a file
    // Training the judge draws random numbers (shuffles, dropout); loading it draws none. Seeding
    // again here makes the GAN below the same whether judge.pt was there or not.
    torch::manual_seed(options.seed);  // Python: torch.manual_seed(args.seed)

    // ---- 3. Two networks, two optimizers ----------------------------------------------------
    auto [generator, discriminator] = make_networks(config, lesson.device);
    const auto adam = torch::optim::AdamOptions(config.lr).betas({config.beta1, 0.999});
    torch::optim::Adam g_optimizer(generator->parameters(), adam);
    torch::optim::Adam d_optimizer(discriminator->parameters(), adam);
    fmt::print("generator: noise {} -> (1, 28, 28), width {} ({} parameters)\n",
               config.generator.noise(), config.generator.width(),
               course::parameter_count(*generator));
    fmt::print("discriminator: (1, 28, 28) -> 1 logit, width {} ({} parameters)\n",
               config.discriminator.width(), course::parameter_count(*discriminator));
    fmt::print("training: Adam lr {} betas ({}, 0.999), batch {}, non-saturating loss\n", config.lr,
               config.beta1, config.batch_size);

    // ---- 4. The game: an epoch, a log line, a row of fixed-noise samples ---------------------
    const auto fixed_noise =
        torch::randn({config.progress_row, config.generator.noise()}, images.options());
    std::vector<torch::Tensor> progress;  // one (row, 1, 28, 28) batch per epoch
    course::History history(lesson.out_dir,
                            {"d_loss", "g_loss", "d_real", "d_fake", "seconds", "compute_seconds"});
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch clock;
      const EpochResult r = train_epoch(generator, discriminator, g_optimizer, d_optimizer, images,
                                        config, epoch, options.epochs);
      progress.push_back(draw_samples(generator, fixed_noise));
      course::save_png(course::make_grid(torch::cat(progress), config.progress_row),
                       lesson.out_dir / "progress.png");  // rewritten each epoch: look at it
      const double seconds = clock.seconds();
      fmt::print(
          "epoch {:2}/{} | D loss {:.4f} G loss {:.4f} | D(x) {:.3f} D(G(z)) {:.3f} | "
          "{:.1f}s\n",
          epoch, options.epochs, r.d_loss, r.g_loss, r.d_real, r.d_fake, seconds);
      std::fflush(stdout);
      history.add(epoch, {r.d_loss, r.g_loss, r.d_real, r.d_fake, seconds, r.compute_seconds});
    }

    // ---- 5. The score: the judge on generated images, beside real ones ----------------------
    const int64_t scored = std::min<int64_t>(config.scored, test.images.size(0));
    const auto noise = torch::randn({scored, config.generator.noise()}, images.options());
    const auto pixels = draw_samples(generator, noise);  // (scored, 1, 28, 28) in [0, 1]
    const auto fakes = pixels * 2.0 - 1.0;               // back to the GAN's range [-1, 1]
    const Quality real = quality_of(
        judge_logits(judge, to_gan_range(test.images.slice(0, 0, scored)).to(lesson.device)),
        config.confident);
    const Quality fake = quality_of(judge_logits(judge, fakes.to(lesson.device)), config.confident);
    fmt::print(
        "quality: the judge on {} images each; confident = top class p > {}, entropy of "
        "the classes (uniform: {:.3f} bits)\n",
        scored, config.confident, std::log2(10.0));
    fmt::print("real test images | {}\n", format_quality(real));
    fmt::print("generated images | {}\n", format_quality(fake));
    std::string shares;
    for (int64_t c = 0; c < 10; ++c)
      shares += fmt::format(" {} {:.2f}", c, fake.shares[c].item<double>());
    fmt::print("generated classes:{}\n", shares);

    // ---- 6. Report: samples, curves and the RESULT line --------------------------------------
    course::save_png(course::make_grid(pixels.slice(0, 0, 64), /*columns=*/8),
                     lesson.out_dir / "samples.png");
    history.plot("14_gan");  // loss.png: D and G
    const auto epochs = history.column("epoch");
    course::plot_lines(
        {{"D(x)", epochs, history.column("d_real")}, {"D(G(z))", epochs, history.column("d_fake")}},
        "14_gan: the discriminator's mean output", "epoch", "mean D output",
        lesson.out_dir / "discriminator.png");
    fmt::print(
        "wrote metrics.csv, loss.png, discriminator.png, progress.png and samples.png in "
        "{}\n",
        lesson.out_dir.string());
    const auto seconds = history.column("seconds");
    const double total = std::accumulate(seconds.begin(), seconds.end(), 0.0);
    course::print_result("14_gan",
                         {{"epochs", static_cast<double>(options.epochs)},
                          {"epoch_time_s", total / options.epochs},
                          {"train_samples_per_s", images.size(0) * options.epochs / total},
                          {"confident", fake.confident},
                          {"class_entropy_bits", fake.entropy_bits},
                          {"real_confident", real.confident}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
