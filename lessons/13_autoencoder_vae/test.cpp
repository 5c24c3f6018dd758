// Tests of lesson 13: the very functions main.cpp (and vae.h) define, against Python PyTorch's
// values in golden.json (written by reference.py --golden): the models' shapes, the ELBO of a
// fixed batch with fixed weights, the reparameterisation trick's gradient, the KL term against
// its closed form, one training step of each model, an epoch, evaluation and the pictures.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "course/files.h"
#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init and the VAE's noise repeat.
class Models : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"13_autoencoder_vae"};
};
using Elbo = Models;
using Reparameterize = Models;
using Kl = Models;
using Training = Models;

// A fresh empty folder per test (dir_), removed afterwards; also seeds.
class Pictures : public course::testing::ScratchDir {};

// (count, 1, 28, 28) pixels in [0, 1] without a random stream: a different pattern per image.
torch::Tensor stripes(int64_t count) {
  const auto position = torch::arange(28 * 28, torch::kFloat32).reshape({1, 1, 28, 28});
  const auto frequency =
      0.01 * (1 + torch::arange(count, torch::kFloat32)).reshape({count, 1, 1, 1});
  return 0.5 + 0.5 * torch::sin(position * frequency);
}

// Small models for the tests that train or evaluate: convs 4 and 8 wide, latent 2.
const auto kSmall = course::AutoencoderOptions().channels1(4).channels2(8);

// The sizes of the golden models (latent 3, convs 4 and 8 wide).
course::AutoencoderOptions golden_sizes(const Golden& golden, const std::string& case_name) {
  const auto size = [&](const char* name) {
    return static_cast<int64_t>(golden.scalar(case_name + "/inputs/" + name));
  };
  return course::AutoencoderOptions()
      .latent(size("latent"))
      .channels1(size("channels1"))
      .channels2(size("channels2"));
}

// Copies the weights stored under `prefix` ("elbo/inputs/state/") into a model.
template <typename Model>
void load_state(Model& model, const Golden& golden, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters())
    item.value().copy_(golden.tensor(prefix + item.key()));
}

// Every parameter against the weights stored under `prefix`.
template <typename Model>
void expect_state(Model& model, const Golden& golden, const std::string& prefix) {
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(AllClose(item.value(), golden.tensor(prefix + item.key()), 1e-4, 1e-5))
        << item.key();
  }
}

int64_t adam_steps(const torch::optim::Adam& optimizer, const torch::Tensor& parameter) {
  return static_cast<const torch::optim::AdamParamState&>(
             *optimizer.state().at(parameter.unsafeGetTensorImpl()))
      .step();
}

}  // namespace

// ---- the models ---------------------------------------------------------------------------------

TEST_F(Models, ShapesAndParameterCounts) {
  course::ConvAutoencoder autoencoder;
  course::Vae vae;
  const auto images = stripes(5);
  EXPECT_EQ(autoencoder->encode(images).sizes(), (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(autoencoder->forward(images).sizes(), (std::vector<int64_t>{5, 1, 28, 28}));
  const course::VaeOutput output = vae->forward(images);
  EXPECT_EQ(output.logits.sizes(), (std::vector<int64_t>{5, 1, 28, 28}));
  for (const auto& t : {output.mean, output.logvar, output.z}) {
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{5, 2}));
  }
  // conv1 16*32+32, conv2 32*64*16+64, to_latent 3136*2+2, fc 2*3136+3136,
  // deconv1 64*32*16+32, deconv2 32*16+1; the VAE has a second head (to_mean and to_logvar).
  EXPECT_EQ(course::parameter_count(*autoencoder), 82371);
  EXPECT_EQ(course::parameter_count(*vae), 82371 + 3136 * 2 + 2);
  course::Vae wide(course::AutoencoderOptions().latent(16));
  EXPECT_EQ(wide->forward(images).z.sizes(), (std::vector<int64_t>{5, 16}));
}

TEST_F(Models, ImagesWithoutTheChannelDimensionAreRefusedWithAHint) {
  course::Vae vae;
  try {
    vae->forward(torch::zeros({5, 28, 28}));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("unsqueeze(1)"), std::string::npos)
        << e.what_without_backtrace();
  }
}

TEST_F(Models, PixelsAreScaledToTheUnitInterval) {
  const auto pixels = torch::tensor({0, 51, 255}, torch::kUInt8).repeat({2, 28 * 28 / 3 + 1});
  const auto images = to_unit(pixels.slice(1, 0, 28 * 28).reshape({2, 28, 28}));
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_EQ(images.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(images[0][0][0][1].item<double>(), 0.2, 1e-7);
  EXPECT_EQ(images.max().item<double>(), 1.0);
}

// ---- the ELBO: reconstruction + beta * KL ------------------------------------------------------

TEST_F(Elbo, FixedBatchWithFixedWeightsMatchesPython) {
  course::Vae vae(golden_sizes(golden_, "elbo"));
  load_state(vae, golden_, "elbo/inputs/state/");
  const auto images = golden_.tensor("elbo/inputs/images");  // (3, 1, 28, 28)
  const course::VaeOutput output = vae->forward(images, golden_.tensor("elbo/inputs/noise"));
  for (const auto& [name, actual] :
       {std::pair{"mean", output.mean}, std::pair{"logvar", output.logvar},
        std::pair{"z", output.z}}) {
    EXPECT_TRUE(AllClose(actual, golden_.tensor(std::string("elbo/outputs/") + name), 1e-4, 1e-5))
        << name;
  }
  EXPECT_TRUE(AllClose(output.logits, golden_.tensor("elbo/outputs/logits"), 1e-4, 1e-5));
  const VaeLoss loss = vae_loss(output, images, golden_.scalar("elbo/inputs/beta"));
  EXPECT_NEAR(loss.recon.item<double>(), golden_.scalar("elbo/outputs/recon"), 1e-3);
  EXPECT_NEAR(loss.kl.item<double>(), golden_.scalar("elbo/outputs/kl"), 1e-4);
  EXPECT_NEAR(loss.loss.item<double>(), golden_.scalar("elbo/outputs/loss"), 1e-3);
  EXPECT_NEAR(-(loss.recon + loss.kl).item<double>(), golden_.scalar("elbo/outputs/elbo"), 1e-3);
}

TEST_F(Elbo, BetaWeighsOnlyTheKlTerm) {
  course::Vae vae(kSmall);
  const auto images = stripes(4);
  const course::VaeOutput output = vae->forward(images);
  const VaeLoss plain = vae_loss(output, images, /*beta=*/0.0);
  const VaeLoss doubled = vae_loss(output, images, /*beta=*/2.0);
  EXPECT_GT(plain.kl.item<double>(), 0.0);
  EXPECT_NEAR(plain.loss.item<double>(), plain.recon.item<double>(), 1e-4);
  EXPECT_NEAR(doubled.loss.item<double>(), (doubled.recon + 2 * doubled.kl).item<double>(), 1e-3);
}

TEST_F(Elbo, ReconstructionIsSummedOverPixelsAndAveragedOverImages) {
  // A logit of 0 says p = 0.5 for every pixel: -log 0.5 = ln 2 per pixel, whatever the pixel.
  for (const int64_t batch : {1, 6}) {
    const auto loss = reconstruction_loss(torch::zeros({batch, 1, 28, 28}), stripes(batch));
    EXPECT_NEAR(loss.item<double>(), 784 * std::log(2.0), 1e-3) << "batch " << batch;
  }
  // A confident right answer costs little, a confident wrong one a lot.
  const auto ones = torch::ones({2, 1, 28, 28});
  EXPECT_LT(reconstruction_loss(torch::full({2, 1, 28, 28}, 10.0), ones).item<double>(), 784e-4);
  EXPECT_GT(reconstruction_loss(torch::full({2, 1, 28, 28}, -10.0), ones).item<double>(), 7800);
}

// ---- the KL term and the reparameterisation trick ----------------------------------------------

TEST_F(Kl, MatchesTheClosedFormOfTorchDistributions) {
  const auto kl =
      kl_divergence(golden_.tensor("kl/inputs/mean"), golden_.tensor("kl/inputs/logvar"));
  EXPECT_NEAR(kl.item<double>(), golden_.scalar("kl/outputs/kl"), 1e-5);
}

TEST_F(Kl, IsZeroForThePriorAndSummedOverLatentDimensions) {
  EXPECT_NEAR(kl_divergence(torch::zeros({3, 4}), torch::zeros({3, 4})).item<double>(), 0.0, 1e-7);
  // mean 1, sigma 1: 0.5 * mean^2 = 0.5 per dimension; 4 dimensions, the same for every image.
  EXPECT_NEAR(kl_divergence(torch::ones({3, 4}), torch::zeros({3, 4})).item<double>(), 2.0, 1e-6);
  // mean 0, log sigma^2 = 1: 0.5 * (e - 1 - 1) per dimension.
  EXPECT_NEAR(kl_divergence(torch::zeros({2, 1}), torch::ones({2, 1})).item<double>(),
              0.5 * (std::exp(1.0) - 2.0), 1e-6);
}

TEST_F(Reparameterize, GradientFlowsToMeanAndLogVariance) {
  const auto mean = torch::tensor({0.5, -1.0, 2.0}).requires_grad_();
  const auto logvar = torch::tensor({0.0, -2.0, 1.0}).requires_grad_();
  const auto noise = torch::tensor({1.5, -0.5, 0.25});
  const auto z = course::reparameterize(mean, logvar, noise);
  EXPECT_TRUE(
      AllClose(z.detach(), mean.detach() + torch::exp(0.5 * logvar.detach()) * noise, 1e-6, 1e-7));
  z.sum().backward();
  EXPECT_TRUE(AllClose(mean.grad(), torch::ones({3}), 1e-6, 1e-7));  // dz/dmean = 1
  // dz/dlogvar = 0.5 * exp(0.5 * logvar) * noise
  EXPECT_TRUE(AllClose(logvar.grad(), 0.5 * torch::exp(0.5 * logvar.detach()) * noise, 1e-6, 1e-7));
}

TEST_F(Reparameterize, SamplesHaveTheEncodersMeanAndSpread) {
  const auto mean = torch::tensor({0.5, -1.0}).expand({200000, 2});
  const auto logvar = torch::tensor({0.0, std::log(0.25)}).expand({200000, 2});  // sigma 1, 0.5
  const auto z = course::reparameterize(mean, logvar, torch::randn({200000, 2}));
  EXPECT_TRUE(AllClose(z.mean(0), torch::tensor({0.5, -1.0}), 0, 0.01));
  EXPECT_TRUE(AllClose(z.std(0), torch::tensor({1.0, 0.5}), 0, 0.01));
}

TEST_F(Reparameterize, TheVaeDrawsFreshNoiseAndTheGradientReachesTheEncoder) {
  course::Vae vae(kSmall);
  const auto images = stripes(4);
  const auto first = vae->forward(images), second = vae->forward(images);
  EXPECT_TRUE(torch::equal(first.mean, second.mean));  // the same distribution q(z | image)
  EXPECT_FALSE(torch::equal(first.z, second.z));       // two different samples of it
  const auto noise = torch::randn({4, 2});
  EXPECT_TRUE(torch::equal(vae->forward(images, noise).logits, vae->forward(images, noise).logits));
  // The sample is decoded: with noise the decoder sees z, not the mean.
  const auto zero = vae->forward(images, torch::zeros({4, 2}));
  EXPECT_TRUE(torch::equal(zero.z, zero.mean));
  EXPECT_FALSE(torch::equal(vae->decode(first.z), vae->decode(first.mean)));
  EXPECT_TRUE(AllClose(first.logits, vae->decode(first.z), 1e-6, 1e-6));
  // Without the KL term only the sample carries a gradient to to_logvar: through the trick.
  vae_loss(first, images, /*beta=*/0.0).loss.backward();
  EXPECT_GT(vae->to_logvar->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(vae->encoder->conv1->weight.grad().abs().sum().item<double>(), 0.0);
}

// ---- training steps, an epoch and evaluation
// -----------------------------------------------------

TEST_F(Training, OneVaeStepMatchesPython) {
  course::Vae vae(golden_sizes(golden_, "elbo"));
  load_state(vae, golden_, "elbo/inputs/state/");
  torch::optim::Adam optimizer(vae->parameters(),
                               torch::optim::AdamOptions(golden_.scalar("vae_step/inputs/lr")));
  const VaeLoss loss =
      train_step(vae, optimizer, golden_.tensor("elbo/inputs/images"),
                 golden_.scalar("elbo/inputs/beta"), golden_.tensor("elbo/inputs/noise"));
  EXPECT_NEAR(loss.loss.item<double>(), golden_.scalar("vae_step/outputs/loss"), 1e-3);
  EXPECT_NEAR(loss.recon.item<double>(), golden_.scalar("vae_step/outputs/recon"), 1e-3);
  EXPECT_NEAR(loss.kl.item<double>(), golden_.scalar("vae_step/outputs/kl"), 1e-4);
  expect_state(vae, golden_, "vae_step/outputs/state/");
}

TEST_F(Training, OneAutoencoderStepMatchesPython) {
  course::ConvAutoencoder autoencoder(golden_sizes(golden_, "ae_step"));
  load_state(autoencoder, golden_, "ae_step/inputs/state/");
  torch::optim::Adam optimizer(autoencoder->parameters(),
                               torch::optim::AdamOptions(golden_.scalar("ae_step/inputs/lr")));
  const auto loss = train_step(autoencoder, optimizer, golden_.tensor("elbo/inputs/images"));
  EXPECT_NEAR(loss.item<double>(), golden_.scalar("ae_step/outputs/loss"), 1e-3);
  expect_state(autoencoder, golden_, "ae_step/outputs/state/");
}

TEST_F(Training, BothLossesFallOverThirtyStepsOnAFixedBatch) {
  course::ConvAutoencoder autoencoder(kSmall);
  course::Vae vae(kSmall);
  torch::optim::Adam ae_optimizer(autoencoder->parameters(), torch::optim::AdamOptions(1e-2));
  torch::optim::Adam vae_optimizer(vae->parameters(), torch::optim::AdamOptions(1e-2));
  const auto images = (stripes(16) > 0.9).to(torch::kFloat32);  // mostly black: about 320
  std::vector<double> ae, vae_losses;                           // is possible
  for (int step = 0; step < 30; ++step) {
    ae.push_back(train_step(autoencoder, ae_optimizer, images).item<double>());
    vae_losses.push_back(train_step(vae, vae_optimizer, images, 1.0).loss.item<double>());
  }
  EXPECT_LT(ae.back(), 0.85 * ae.front());  // about 543 (784 ln 2) at the start
  EXPECT_LT(vae_losses.back(), 0.85 * vae_losses.front());
}

TEST_F(Training, EachStepUsesOnlyItsOwnBatchsGradient) {
  // With lr 0 the weights stay put, so the gradients a step leaves behind can be recomputed.
  course::ConvAutoencoder autoencoder(kSmall);
  course::Vae vae(kSmall);
  torch::optim::SGD ae_optimizer(autoencoder->parameters(), torch::optim::SGDOptions(0.0));
  torch::optim::SGD vae_optimizer(vae->parameters(), torch::optim::SGDOptions(0.0));
  const auto first = stripes(4), second = stripes(6).slice(0, 2);
  const auto noise = torch::randn({4, 2});
  train_step(autoencoder, ae_optimizer, first);
  train_step(autoencoder, ae_optimizer, second);
  train_step(vae, vae_optimizer, first, 1.0, noise);
  train_step(vae, vae_optimizer, second, 1.0, noise);
  const auto ae_grad = autoencoder->to_latent->weight.grad().clone();
  const auto vae_grad = vae->to_logvar->weight.grad().clone();
  autoencoder->zero_grad();
  vae->zero_grad();
  reconstruction_loss(autoencoder->forward(second), second).backward();
  vae_loss(vae->forward(second, noise), second, 1.0).loss.backward();
  EXPECT_TRUE(AllClose(ae_grad, autoencoder->to_latent->weight.grad(), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(vae_grad, vae->to_logvar->weight.grad(), 1e-5, 1e-6));
}

TEST_F(Training, AnEpochStepsBothModelsOncePerBatchInTrainMode) {
  Config config;
  config.batch_size = 8;  // 20 images: 3 steps, 8 + 8 + 4
  config.beta = 0.0;
  course::ConvAutoencoder autoencoder(kSmall);
  course::Vae vae(kSmall);
  autoencoder->eval();  // as evaluate() leaves them
  vae->eval();
  torch::optim::Adam ae_optimizer(autoencoder->parameters(), torch::optim::AdamOptions(1e-3));
  torch::optim::Adam vae_optimizer(vae->parameters(), torch::optim::AdamOptions(1e-3));
  const Losses losses = train_epoch(autoencoder, ae_optimizer, vae, vae_optimizer, stripes(20),
                                    config, /*epoch=*/1, /*epochs=*/1);
  EXPECT_TRUE(autoencoder->is_training());
  EXPECT_TRUE(vae->is_training());
  EXPECT_EQ(adam_steps(ae_optimizer, autoencoder->to_latent->weight), 3);
  EXPECT_EQ(adam_steps(vae_optimizer, vae->to_mean->weight), 3);
  // The means of untrained models: about 784 ln 2 = 543 per image (beta 0: no KL in the VAE's).
  EXPECT_GT(losses.ae, 500);
  EXPECT_LT(losses.ae, 560);
  EXPECT_GT(losses.vae, 500);
  EXPECT_LT(losses.vae, 560);
}

TEST_F(Training, EvaluateReportsReconstructionsKlAndMinusTheElbo) {
  course::ConvAutoencoder autoencoder(kSmall);
  course::Vae vae(kSmall);
  {
    torch::NoGradGuard no_grad;  // means and log-variances away from 0: a KL of about 0.6
    vae->to_mean->bias.fill_(0.5);
    vae->to_logvar->bias.fill_(-1.0);
  }
  const auto images = stripes(1200);  // more than one evaluation batch (kEvalBatch = 1000)
  const Losses losses = evaluate(autoencoder, vae, images);
  EXPECT_FALSE(autoencoder->is_training());
  EXPECT_FALSE(vae->is_training());
  torch::NoGradGuard no_grad;
  EXPECT_NEAR(losses.ae, reconstruction_loss(autoencoder->forward(images), images).item<double>(),
              1e-2);
  const auto [mean, logvar] = vae->encode(images);
  EXPECT_NEAR(losses.vae_kl, kl_divergence(mean, logvar).item<double>(), 1e-4);
  EXPECT_GT(losses.vae_kl, 0.0);
  EXPECT_NEAR(losses.vae, losses.vae_recon + losses.vae_kl, 1e-9);  // -ELBO at beta 1
  // The reconstruction of one sample per image: close to another sample's.
  const double again = reconstruction_loss(vae->forward(images).logits, images).item<double>();
  EXPECT_NEAR(losses.vae_recon, again, 0.01 * again);
}

TEST_F(Training, LatentMeansAreTheEncodersMeansOfEveryImage) {
  course::Vae vae(kSmall);
  const auto images = stripes(1200);
  const auto means = latent_means(vae, images);
  EXPECT_EQ(means.sizes(), (std::vector<int64_t>{1200, 2}));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(AllClose(means, vae->encode(images).first, 1e-5, 1e-6));
}

TEST_F(Training, InterpolateWalksTheStraightLineFromAToB) {
  const auto a = torch::tensor({0.0, 2.0}), b = torch::tensor({1.0, -2.0});
  const auto walk = interpolate(a, b, 5);  // (5, 2)
  EXPECT_EQ(walk.sizes(), (std::vector<int64_t>{5, 2}));
  EXPECT_TRUE(torch::equal(walk[0], a));
  EXPECT_TRUE(AllClose(walk[4], b, 1e-6, 1e-7));
  EXPECT_TRUE(AllClose(walk[1], torch::tensor({0.25, 1.0}), 1e-6, 1e-7));
}

// ---- the pictures
// ---------------------------------------------------------------------------------

TEST_F(Pictures, RowsOfImagesBecomeOneEnlargedGrid) {
  const auto path = dir_ / "rows.png";
  course::save_rows({stripes(5), stripes(5)}, path);
  const cv::Mat image = course::read_png(path);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 3 * (5 * 30 + 2));  // 5 tiles of 28 + 2 padding, 3x enlarged
  EXPECT_EQ(image.rows, 3 * (2 * 30 + 2));
}

TEST_F(Pictures, TheLatentPlaneIsAGridOfDecodedImages) {
  course::Vae vae(kSmall);
  const auto path = dir_ / "plane.png";
  course::save_latent_plane(vae->decoder, /*steps=*/4, /*extent=*/2.0, path);
  const cv::Mat image = course::read_png(path);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 2 * (4 * 30 + 2));
  course::Vae wide(course::AutoencoderOptions().latent(3));
  EXPECT_THROW(course::save_latent_plane(wide->decoder, 4, 2.0, path), c10::Error);
}

TEST_F(Pictures, TheScatterPlotColoursEachCodeByItsClassWithYUpward) {
  const auto codes = torch::tensor({1.0, 1.0, -1.0, -1.0}).reshape({2, 2});
  const auto labels = torch::tensor({1, 3}, torch::kInt64);
  const auto path = dir_ / "scatter.png";
  course::save_latent_scatter(codes, labels, course::kFashionClasses, path);
  const cv::Mat image = course::read_png(path);  // BGR
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(image.cols, 600 + 150);
  EXPECT_EQ(image.rows, 600);
  // extent 1.05: (1, 1) lands at column 585, row 14 (up), in class 1's orange (255, 127, 14).
  EXPECT_EQ(image.at<cv::Vec3b>(14, 585), cv::Vec3b(14, 127, 255));
  EXPECT_EQ(image.at<cv::Vec3b>(585, 14), cv::Vec3b(40, 39, 214));  // (-1, -1): class 3, red
  EXPECT_THROW(course::save_latent_scatter(torch::zeros({2, 3}), labels, {}, path), c10::Error);
}
