// 13_autoencoder_vae: a convolutional autoencoder, then a variational autoencoder (VAE), on
// Fashion-MNIST; both trained side by side on the same batches.
//
// What it teaches:
//   - an encoder and a decoder (vae.h): convs down to a small code, transposed convs back up
//   - the autoencoder: reconstruct the image through a code of --latent numbers
//   - the VAE: the encoder gives a mean and a log-variance, the reparameterisation trick
//     z = mean + exp(0.5 * logvar) * noise lets the gradient through the sample, and the loss is
//     the negative ELBO: reconstruction + beta * KL(q(z | image) || N(0, 1)), with --beta the
//     KL term's weight (1: the true ELBO)
//   - reading the result: reconstructions, images decoded from random codes, a walk between two
//     test images in the latent space; with --latent 2 the codes of the test set as a scatter
//     plot and the decoded grid of the latent plane
// What it leaves out on purpose: more samples per image (IWAE), learned output variances, a
// conditional VAE, GANs (lesson 14) and anything bigger than two convs each way.
//
// Run:  ./course run 13               (3 epochs: test ELBO -272.0, 39 s on 2 idle cores)
//       ./course run 13 -- --smoke    (512 images, seconds)
//       ./course run 13 -- --latent 16 --beta 0.5
#include <fmt/format.h>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/history.h"
#include "course/image.h"
#include "course/lesson.h"
#include "course/progress.h"
#include "course/timer.h"
#include "latent_pictures.h"
#include "vae.h"

// Dimension legend: N = images in a split, B = images in a batch, L = latent dimensions.

// ==== Configuration ==============================================================================
struct Config {
  course::AutoencoderOptions model;  // --latent 2 (drawable), convs with 32 then 64 feature maps
  double beta = 1.0;                 // weight of the KL term (1: the ELBO; 0: an autoencoder)
  double lr = 1e-3;                  // Adam's learning rate, for both models
  int64_t batch_size = 128;          // images per step
};
constexpr int kEpochs = 3;            // default --epochs
constexpr int64_t kLogEvery = 50;     // steps between progress updates (and NaN checks)
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating

// ==== Data: pixels in [0, 1], (N, 1, 28, 28), on the training device =============================
// No mean/std normalisation here: the decoder's sigmoid outputs pixels in [0, 1], and the
// reconstruction loss compares them with the image's own pixels.
struct Data {
  torch::Tensor x_train, x_test, y_test;  // y_test (N,): the classes, only for the scatter plot
};

torch::Tensor to_unit(const torch::Tensor& images) {  // uint8 (N, 28, 28) -> float (N, 1, 28, 28)
  return images.to(torch::kFloat32).div(255).unsqueeze(1);
}

Data load_data(const course::Options& options, torch::Device device) {
  const auto train = course::load_fashion_mnist(options, /*train=*/true);
  const auto test = course::load_fashion_mnist(options, /*train=*/false);
  return {to_unit(train.images).to(device), to_unit(test.images).to(device), test.labels};
}

// ==== The losses: nats per image, summed over pixels (or latent numbers), averaged over images ===
// Reconstruction: each pixel is a Bernoulli probability sigmoid(logit); -log p(image | z) is the
// binary cross-entropy, summed over the 784 pixels.
torch::Tensor reconstruction_loss(const torch::Tensor& logits, const torch::Tensor& images) {
  namespace F = torch::nn::functional;  // Python: F.binary_cross_entropy_with_logits(..., "sum")
  return F::binary_cross_entropy_with_logits(
             logits, images, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)) /
         images.size(0);
}

// KL(N(mean, exp(logvar)) || N(0, 1)) in closed form, summed over the L dimensions:
// 0.5 * sum(mean^2 + sigma^2 - log sigma^2 - 1). Zero when every q(z | image) is the prior.
torch::Tensor kl_divergence(const torch::Tensor& mean, const torch::Tensor& logvar) {
  return (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).sum(/*dim=*/1).mean();
}

struct VaeLoss {
  torch::Tensor loss, recon, kl;  // () each; loss = recon + beta * kl, the negative ELBO at beta 1
};

VaeLoss vae_loss(const course::VaeOutput& output, const torch::Tensor& images, double beta) {
  const auto recon = reconstruction_loss(output.logits, images);
  const auto kl = kl_divergence(output.mean, output.logvar);
  return {recon + beta * kl, recon, kl};
}

// ==== One training step of each model ============================================================
// The autoencoder: the four lines every training loop has, with the reconstruction as the loss.
torch::Tensor train_step(course::ConvAutoencoder& model, torch::optim::Optimizer& optimizer,
                         const torch::Tensor& images) {
  optimizer.zero_grad();
  const auto loss = reconstruction_loss(model->forward(images), images);
  loss.backward();
  optimizer.step();
  return loss.detach();  // () no .item() here: reading a number waits for the device
}

// The VAE: the same four lines; the sample inside forward() is differentiable (vae.h).
VaeLoss train_step(course::Vae& model, torch::optim::Optimizer& optimizer,
                   const torch::Tensor& images, double beta, const torch::Tensor& noise = {}) {
  optimizer.zero_grad();
  const VaeLoss loss = vae_loss(model->forward(images, noise), images, beta);
  loss.loss.backward();
  optimizer.step();
  return {loss.loss.detach(), loss.recon.detach(), loss.kl.detach()};
}

// ==== An epoch, and evaluation ===================================================================
struct Losses {
  double ae = 0;                              // autoencoder: reconstruction loss
  double vae = 0, vae_recon = 0, vae_kl = 0;  // VAE: recon + beta * kl (train) or -ELBO (test)
  double compute_seconds = 0;
};

// One pass over the training images, each batch a step of both models (the same images, the
// same order). Returns the mean training losses.
Losses train_epoch(course::ConvAutoencoder& autoencoder, torch::optim::Optimizer& ae_optimizer,
                   course::Vae& vae, torch::optim::Optimizer& vae_optimizer,
                   const torch::Tensor& x_train, const Config& config, int epoch, int epochs) {
  autoencoder->train();
  vae->train();
  const int64_t n = x_train.size(0);
  const int64_t steps = (n + config.batch_size - 1) / config.batch_size;
  const auto order = torch::randperm(n, torch::kInt64).to(x_train.device());  // (N,)
  course::ProgressBar bar(steps, fmt::format("epoch {}/{}", epoch, epochs));
  auto ae_sum = torch::zeros({}, x_train.options());
  auto vae_sum = torch::zeros({}, x_train.options());
  double compute_seconds = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const auto index = order.slice(0, step * config.batch_size, (step + 1) * config.batch_size);
    const auto x = x_train.index_select(0, index);  // (B, 1, 28, 28)
    course::Stopwatch clock;
    ae_sum += train_step(autoencoder, ae_optimizer, x) * x.size(0);
    vae_sum += train_step(vae, vae_optimizer, x, config.beta).loss * x.size(0);
    course::synchronize(x.device());
    compute_seconds += clock.seconds();
    if ((step + 1) % kLogEvery == 0 || step + 1 == steps) {  // read numbers only here
      const double seen = static_cast<double>(std::min(n, (step + 1) * config.batch_size));
      const double ae = ae_sum.item<double>() / seen, loss = vae_sum.item<double>() / seen;
      if (!std::isfinite(ae) || !std::isfinite(loss)) {
        throw std::runtime_error(fmt::format(
            "loss became {} (autoencoder) and {} (VAE) at epoch {}; lower --lr (now {})", ae, loss,
            epoch, config.lr));
      }
      bar.update(step + 1, fmt::format("ae {:.1f} vae {:.1f}", ae, loss));
    }
  }
  bar.finish();
  Losses losses;
  losses.ae = ae_sum.item<double>() / n;
  losses.vae = vae_sum.item<double>() / n;
  losses.compute_seconds = compute_seconds;
  return losses;
}

// Test losses: the autoencoder's reconstruction, and the VAE's reconstruction, KL and
// -ELBO = recon + KL (beta 1 whatever --beta was: the ELBO is a bound on log p(image)), each
// estimated with one sample z per image.
Losses evaluate(course::ConvAutoencoder& autoencoder, course::Vae& vae, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  autoencoder->eval();
  vae->eval();
  course::Stopwatch clock;
  auto sums = torch::zeros({3}, x.options());  // ae recon, vae recon, vae kl (sums over images)
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch) {
    const auto batch = x.slice(0, start, start + kEvalBatch);  // (B, 1, 28, 28)
    const course::VaeOutput output = vae->forward(batch);      // one sample z per image
    sums += torch::stack({reconstruction_loss(autoencoder->forward(batch), batch),
                          reconstruction_loss(output.logits, batch),
                          kl_divergence(output.mean, output.logvar)}) *
            batch.size(0);
  }
  const auto mean = (sums / x.size(0)).cpu();
  Losses losses;
  losses.compute_seconds = clock.seconds();
  losses.ae = mean[0].item<double>();
  losses.vae_recon = mean[1].item<double>();
  losses.vae_kl = mean[2].item<double>();
  losses.vae = losses.vae_recon + losses.vae_kl;
  return losses;
}

// (N, L): the VAE's mean code of every image; the centre of q(z | image), no sampling.
torch::Tensor latent_means(course::Vae& vae, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  vae->eval();
  std::vector<torch::Tensor> means;
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch) {
    means.push_back(vae->encode(x.slice(0, start, start + kEvalBatch)).first);
  }
  return torch::cat(means);
}

// A walk in the latent space: `steps` codes on the straight line from a to b, both (L,) -> (steps,
// L). Python: torch.lerp(a, b, t[:, None])
torch::Tensor interpolate(const torch::Tensor& a, const torch::Tensor& b, int64_t steps) {
  const auto t = torch::linspace(0, 1, steps, a.options()).unsqueeze(1);  // (steps, 1)
  return torch::lerp(a.unsqueeze(0), b.unsqueeze(0), t);
}

// ==== main: data, models, train, pictures, report ================================================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("13_autoencoder_vae",
                        "A convolutional autoencoder and a VAE on Fashion-MNIST", defaults);
    flags.add("--latent", config.model.latent(), "Numbers per code (2: drawable plane)", {1, 256});
    flags.add("--beta", config.beta, "Weight of the VAE's KL term (1: the ELBO)", {0.0, 100.0});
    flags.add("--lr", config.lr, "Adam's learning rate", {1e-6, 1.0});
    flags.add("--batch-size", config.batch_size, "Images per step", {1, 60000});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data ---------------------------------------------------------------------------
    const Data data = load_data(options, lesson.device);
    const int64_t n_train = data.x_train.size(0);
    fmt::print("data: {} train, {} test images, each (1, 28, 28), pixels in [0, 1]\n", n_train,
               data.x_test.size(0));

    // ---- 2. Models and optimizers -------------------------------------------------------------
    const auto& size = config.model;
    course::ConvAutoencoder autoencoder(size);
    course::Vae vae(size);
    autoencoder->to(lesson.device);
    vae->to(lesson.device);
    torch::optim::Adam ae_optimizer(autoencoder->parameters(),
                                    torch::optim::AdamOptions(config.lr));
    torch::optim::Adam vae_optimizer(vae->parameters(), torch::optim::AdamOptions(config.lr));
    fmt::print("autoencoder: conv {}-{}, latent {} ({} parameters)\n", size.channels1(),
               size.channels2(), size.latent(), course::parameter_count(*autoencoder));
    fmt::print("VAE: conv {}-{}, latent {} as mean and log-variance ({} parameters)\n",
               size.channels1(), size.channels2(), size.latent(), course::parameter_count(*vae));
    fmt::print("training: Adam lr {}, batch {}; VAE loss = reconstruction + beta * KL, beta {}\n",
               config.lr, config.batch_size, config.beta);

    // ---- 3. Train both: an epoch, a test pass, a log line -------------------------------------
    course::History history(lesson.out_dir,
                            {"ae_train_loss", "ae_test_loss", "vae_train_loss", "vae_test_loss",
                             "vae_test_recon", "vae_test_kl", "seconds", "compute_seconds"});
    Losses test;
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch clock;
      const Losses train = train_epoch(autoencoder, ae_optimizer, vae, vae_optimizer, data.x_train,
                                       config, epoch, options.epochs);
      test = evaluate(autoencoder, vae, data.x_test);
      const double seconds = clock.seconds();
      fmt::print(
          "epoch {:2}/{} | autoencoder train {:.2f} test {:.2f} | VAE train {:.2f} test recon "
          "{:.2f} kl {:.2f} elbo {:.2f} | {:.1f}s\n",
          epoch, options.epochs, train.ae, test.ae, train.vae, test.vae_recon, test.vae_kl,
          -test.vae, seconds);
      std::fflush(stdout);
      history.add(epoch, {train.ae, test.ae, train.vae, test.vae, test.vae_recon, test.vae_kl,
                          seconds, train.compute_seconds + test.compute_seconds});
    }

    // ---- 4. Pictures: reconstructions, samples, a walk; the latent plane when L = 2 ----------
    torch::NoGradGuard no_grad;
    const auto& dir = lesson.out_dir;
    const auto originals = data.x_test.slice(0, 0, 12);  // (12, 1, 28, 28)
    course::save_rows({originals, torch::sigmoid(autoencoder->forward(originals)),
                       torch::sigmoid(vae->decode(vae->encode(originals).first))},
                      dir / "reconstructions.png");
    const auto codes = torch::randn({64, size.latent()}, data.x_test.options());  // z ~ N(0, 1)
    course::save_rows({torch::sigmoid(vae->decode(codes))}, dir / "samples.png", /*columns=*/8);
    const auto means = latent_means(vae, data.x_test);  // (N, L)
    std::vector<torch::Tensor> walks;
    for (int64_t i = 0; i < 4; ++i) {  // test images 2i and 2i+1, 10 steps each
      walks.push_back(torch::sigmoid(vae->decode(interpolate(means[2 * i], means[2 * i + 1], 10))));
    }
    course::save_rows(walks, dir / "interpolation.png");
    std::string written = "reconstructions.png, samples.png, interpolation.png";
    if (size.latent() == 2) {
      course::save_latent_scatter(means.cpu(), data.y_test, course::kFashionClasses,
                                  dir / "latent_scatter.png");
      course::save_latent_plane(vae->decoder, /*steps=*/16, /*extent=*/3.0,
                                dir / "latent_plane.png");
      written += ", latent_scatter.png, latent_plane.png";
    }

    // ---- 5. Report: the curves and the RESULT line --------------------------------------------
    history.plot("13_autoencoder_vae");
    fmt::print("wrote {}, metrics.csv and loss.png in {}\n", written, dir.string());
    const auto seconds = history.column("seconds");
    course::print_result(
        "13_autoencoder_vae",
        {{"epochs", options.epochs},
         {"epoch_time_s", std::accumulate(seconds.begin(), seconds.end(), 0.0) / options.epochs},
         {"ae_test_recon", test.ae},
         {"vae_test_recon", test.vae_recon},
         {"vae_test_elbo", -test.vae}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
