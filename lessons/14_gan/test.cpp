// Tests of lesson 14: the very functions main.cpp defines (it is included below, without its
// main), against Python PyTorch's values in golden.json (written by reference.py --golden): the
// shapes through both networks, DCGAN's initialisation, the losses, one step of both networks,
// an epoch, the samples, the judge and its quality score.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::error_of;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test.
class Gan : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"14_gan"};
};
using Score = Gan;

// A fresh empty folder per test (dir_), removed afterwards; also seeds.
class Judge : public course::testing::ScratchDir {};

// Copies every tensor stored under `prefix` into the module's parameters and buffers.
void load_golden(torch::nn::Module& module, const Golden& golden, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters())
    item.value().copy_(golden.tensor(prefix + item.key()));
  for (auto& item : module.named_buffers()) item.value().copy_(golden.tensor(prefix + item.key()));
}

// Expects every parameter and buffer of `module` to match the golden tensors under `prefix`.
void expect_state(torch::nn::Module& module, const Golden& golden, const std::string& prefix) {
  for (const auto& item : module.named_parameters())
    EXPECT_TRUE(AllClose(item.value(), golden.tensor(prefix + item.key()), 1e-4, 1e-6))
        << item.key();
  for (const auto& item : module.named_buffers())
    EXPECT_TRUE(AllClose(item.value(), golden.tensor(prefix + item.key()), 1e-4, 1e-6))
        << item.key();
}

// The small networks of the golden cases, with the weights stored under `prefix`.
course::Generator golden_generator(const Golden& golden, const std::string& prefix) {
  course::Generator generator(
      course::GeneratorOptions()
          .noise(static_cast<int64_t>(golden.scalar("gan_step/inputs/noise_size")))
          .width(static_cast<int64_t>(golden.scalar("gan_step/inputs/width"))));
  load_golden(*generator, golden, prefix);
  return generator;
}
course::Discriminator golden_discriminator(const Golden& golden, const std::string& prefix) {
  course::Discriminator discriminator(course::DiscriminatorOptions().width(
      static_cast<int64_t>(golden.scalar("gan_step/inputs/width"))));
  load_golden(*discriminator, golden, prefix);
  return discriminator;
}

// Fashion-MNIST's smoke subset (512 images of each split), as the lesson's --smoke reads it.
course::FashionMnist smoke_split(bool train) {
  course::Options options;
  options.smoke = true;
  return course::load_fashion_mnist(options, train);
}

}  // namespace

// ---- the networks -------------------------------------------------------------------------------

TEST_F(Gan, ShapesThroughBothNetworks) {
  course::Generator generator;
  course::Discriminator discriminator;
  for (const int64_t batch : {1, 5}) {
    generator->eval();  // a batch of 1 has no batch statistics
    const auto images = generator->forward(torch::randn({batch, 64}));
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{batch, 1, 28, 28}));
    EXPECT_LE(images.abs().max().item<double>(), 1.0);  // tanh: the range of the real images
    discriminator->eval();
    EXPECT_EQ(discriminator->forward(images).sizes(), (std::vector<int64_t>{batch}));
  }
  // The steps in between, as dcgan.h's comments draw them (W = 32).
  const auto noise = torch::randn({2, 64, 1, 1});
  EXPECT_EQ(generator->up1(noise).sizes(), (std::vector<int64_t>{2, 64, 7, 7}));
  EXPECT_EQ(generator->up2(torch::zeros({2, 64, 7, 7})).sizes(),
            (std::vector<int64_t>{2, 32, 14, 14}));
  EXPECT_EQ(discriminator->down1(torch::zeros({2, 1, 28, 28})).sizes(),
            (std::vector<int64_t>{2, 32, 14, 14}));
  EXPECT_EQ(discriminator->down2(torch::zeros({2, 32, 14, 14})).sizes(),
            (std::vector<int64_t>{2, 64, 7, 7}));
  // 64*64*49 + 2*64 + 64*32*16 + 2*32 + 32*16; 16*32 + 32*64*16 + 2*64 + 64*49.
  EXPECT_EQ(course::parameter_count(*generator), 234176);
  EXPECT_EQ(course::parameter_count(*discriminator), 36544);
  EXPECT_NE(error_of([&] {
              generator->forward(torch::zeros({2, 10}));
            }).find("noise (B, 64)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              discriminator->forward(torch::zeros({2, 28, 28}));
            }).find("(B, 1, 28, 28)"),
            std::string::npos);
}

TEST_F(Gan, InitialisationIsDcgans) {
  course::Generator generator;
  course::Discriminator discriminator;
  generator->apply(course::init_dcgan);
  discriminator->apply(course::init_dcgan);
  for (const auto& weight :
       {generator->up1->weight, generator->up2->weight, generator->up3->weight,
        discriminator->down1->weight, discriminator->down2->weight, discriminator->head->weight}) {
    EXPECT_NEAR(weight.mean().item<double>(), 0.0, 0.005);
    EXPECT_NEAR(weight.std().item<double>(), 0.02, 0.004);
  }
  for (const auto& norm : {generator->bn1, generator->bn2, discriminator->bn2}) {
    EXPECT_NEAR(norm->weight.mean().item<double>(), 1.0, 0.01);
    EXPECT_NEAR(norm->weight.std().item<double>(), 0.02, 0.01);
    EXPECT_EQ(norm->bias.abs().max().item<double>(), 0.0);
  }
}

TEST_F(Gan, TheLessonsNetworksStartFromDcgansInitialisation) {
  Config config;
  auto [generator, discriminator] = make_networks(config, torch::kCPU);
  // PyTorch's default init would give std 0.010 (up1) and 0.144 (down1), and scales of exactly 1.
  EXPECT_NEAR(generator->up1->weight.std().item<double>(), 0.02, 0.003);
  EXPECT_NEAR(discriminator->down1->weight.std().item<double>(), 0.02, 0.004);
  EXPECT_GT(generator->bn1->weight.std().item<double>(), 0.01);
  EXPECT_GT(discriminator->bn2->weight.std().item<double>(), 0.01);
}

TEST_F(Gan, GeneratorForwardMatchesPython) {
  auto generator = golden_generator(golden_, "gan_step/inputs/g_state/");
  generator->train();
  EXPECT_TRUE(AllClose(generator->forward(golden_.tensor("gan_step/inputs/noise")),
                       golden_.tensor("gan_step/outputs/fake"), 1e-4, 1e-6));
}

// ---- the losses and the step against Python ----------------------------------------------------

TEST_F(Gan, DiscriminatorLossOnRealAndFakeMatchesPython) {
  auto discriminator = golden_discriminator(golden_, "losses/inputs/state/");
  discriminator->train();
  const auto real = golden_.tensor("losses/inputs/real");
  const auto fake = golden_.tensor("losses/inputs/fake");
  const auto d = discriminator_loss(discriminator, real, fake);
  EXPECT_NEAR(d.loss.item<double>(), golden_.scalar("losses/outputs/d_loss"), 1e-5);
  EXPECT_NEAR(d.real.item<double>(), golden_.scalar("losses/outputs/d_real"), 1e-5);
  EXPECT_NEAR(d.fake.item<double>(), golden_.scalar("losses/outputs/d_fake"), 1e-5);
  EXPECT_FALSE(d.real.requires_grad());  // numbers to log, not part of the graph
  EXPECT_NEAR(generator_loss(discriminator, fake).item<double>(),
              golden_.scalar("losses/outputs/g_loss"), 1e-5);
  EXPECT_TRUE(AllClose(discriminator->forward(real).detach(),
                       golden_.tensor("losses/outputs/real_logits"), 1e-4, 1e-6));
}

TEST_F(Gan, OneStepOfBothNetworksMatchesPython) {
  auto generator = golden_generator(golden_, "gan_step/inputs/g_state/");
  auto discriminator = golden_discriminator(golden_, "gan_step/inputs/d_state/");
  const double lr = golden_.scalar("gan_step/inputs/lr");
  const double beta1 = golden_.scalar("gan_step/inputs/beta1");
  const auto adam = torch::optim::AdamOptions(lr).betas({beta1, 0.999});
  torch::optim::Adam g_optimizer(generator->parameters(), adam);
  torch::optim::Adam d_optimizer(discriminator->parameters(), adam);
  generator->train();
  discriminator->train();
  const auto r =
      train_step(generator, discriminator, g_optimizer, d_optimizer,
                 golden_.tensor("gan_step/inputs/real"), golden_.tensor("gan_step/inputs/noise"));
  EXPECT_NEAR(r.d_loss.item<double>(), golden_.scalar("gan_step/outputs/d_loss"), 1e-5);
  EXPECT_NEAR(r.g_loss.item<double>(), golden_.scalar("gan_step/outputs/g_loss"), 1e-5);
  EXPECT_NEAR(r.d_real.item<double>(), golden_.scalar("gan_step/outputs/d_real"), 1e-5);
  EXPECT_NEAR(r.d_fake.item<double>(), golden_.scalar("gan_step/outputs/d_fake"), 1e-5);
  // Every weight of both networks after their steps, and the batch norms' running statistics.
  expect_state(*generator, golden_, "gan_step/outputs/g_state/");
  expect_state(*discriminator, golden_, "gan_step/outputs/d_state/");
  // A second step on the same batch: right only if each zero_grad cleared the first's gradients.
  train_step(generator, discriminator, g_optimizer, d_optimizer,
             golden_.tensor("gan_step/inputs/real"), golden_.tensor("gan_step/inputs/noise"));
  expect_state(*generator, golden_, "gan_step/outputs/g_state_2/");
  expect_state(*discriminator, golden_, "gan_step/outputs/d_state_2/");
}

TEST_F(Gan, AnEpochMatchesPythonWithTheSameSeed) {
  // LibTorch's CPU generator is Python's: after the same seed, randperm and randn give the same
  // shuffle and the same noise, so a whole epoch can be compared.
  auto generator = golden_generator(golden_, "gan_step/inputs/g_state/");
  auto discriminator = golden_discriminator(golden_, "gan_step/inputs/d_state/");
  Config config;
  config.generator.noise(generator->options.noise());
  config.batch_size = static_cast<int64_t>(golden_.scalar("epoch/inputs/batch_size"));
  const auto adam = torch::optim::AdamOptions(golden_.scalar("gan_step/inputs/lr"))
                        .betas({golden_.scalar("gan_step/inputs/beta1"), 0.999});
  torch::optim::Adam g_optimizer(generator->parameters(), adam);
  torch::optim::Adam d_optimizer(discriminator->parameters(), adam);
  const auto images = golden_.tensor("gan_step/inputs/real").repeat({3, 1, 1, 1});  // (9, ...)
  torch::manual_seed(static_cast<uint64_t>(golden_.scalar("epoch/inputs/seed")));
  const auto r = train_epoch(generator, discriminator, g_optimizer, d_optimizer, images, config,
                             /*epoch=*/1, /*epochs=*/1);
  EXPECT_NEAR(r.d_loss, golden_.scalar("epoch/outputs/d_loss"), 1e-5);
  EXPECT_NEAR(r.g_loss, golden_.scalar("epoch/outputs/g_loss"), 1e-5);
  EXPECT_NEAR(r.d_real, golden_.scalar("epoch/outputs/d_real"), 1e-5);
  EXPECT_NEAR(r.d_fake, golden_.scalar("epoch/outputs/d_fake"), 1e-5);
  expect_state(*generator, golden_, "epoch/outputs/g_state/");
}

TEST_F(Gan, AnEpochTrainsBothNetworksAndStopsOnNan) {
  Config config;
  config.generator.noise(4).width(2);
  config.discriminator.width(2);
  config.batch_size = 3;
  course::Generator generator(config.generator);
  course::Discriminator discriminator(config.discriminator);
  torch::optim::Adam g_optimizer(generator->parameters(), torch::optim::AdamOptions(1e-3));
  torch::optim::Adam d_optimizer(discriminator->parameters(), torch::optim::AdamOptions(1e-3));
  const auto before = generator->up1->weight.clone();
  const auto images = golden_.tensor("gan_step/inputs/real").repeat({3, 1, 1, 1});  // 9 images
  generator->eval();  // train_epoch must switch both back to train()
  discriminator->eval();
  const auto r = train_epoch(generator, discriminator, g_optimizer, d_optimizer, images, config,
                             /*epoch=*/1, /*epochs=*/1);
  EXPECT_TRUE(generator->is_training());
  EXPECT_TRUE(discriminator->is_training());
  EXPECT_FALSE(torch::equal(before, generator->up1->weight));
  // Three steps of the same nine images: the epoch's means lie in the losses' and D's ranges.
  EXPECT_GT(r.d_loss, 0.5);
  EXPECT_LT(r.d_loss, 3.0);
  EXPECT_GT(r.g_loss, 0.2);
  EXPECT_GT(r.d_real, 0.0);
  EXPECT_LT(r.d_real, 1.0);
  EXPECT_GT(r.d_fake, 0.0);
  EXPECT_LT(r.d_fake, 1.0);
  EXPECT_GT(r.compute_seconds, 0.0);
  // Only whole batches: 3 images make no batch of 4.
  config.batch_size = 4;
  EXPECT_NE(error_of([&] {
              train_epoch(generator, discriminator, g_optimizer, d_optimizer, images.slice(0, 0, 3),
                          config, 1, 1);
            }).find("--batch-size 4 is more than the 3 images"),
            std::string::npos);
  config.batch_size = 3;
  const auto broken = images.clone().fill_(std::nan(""));
  EXPECT_NE(error_of([&] {
              train_epoch(generator, discriminator, g_optimizer, d_optimizer, broken, config, 2, 2);
            }).find("lower --lr"),
            std::string::npos);
}

TEST_F(Gan, SamplesComeFromTheGeneratorInEvalModeAsPixels) {
  course::Generator generator(course::GeneratorOptions().noise(4).width(2));
  generator->train();
  // A few training-mode passes move the running statistics away from their start.
  for (int i = 0; i < 3; ++i) generator->forward(torch::randn({8, 4}));
  const auto noise = torch::randn({6, 4});
  const auto samples = draw_samples(generator, noise);
  EXPECT_TRUE(generator->is_training());
  generator->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(AllClose(samples, (generator->forward(noise) + 1.0) / 2.0, 1e-5, 1e-6));
  EXPECT_GE(samples.min().item<double>(), 0.0);
  EXPECT_LE(samples.max().item<double>(), 1.0);
}

// ---- the judge and its score --------------------------------------------------------------------

TEST_F(Score, ScalingsMatchPython) {
  const auto pixels = golden_.tensor("scaling/inputs/pixels");
  const auto gan = to_gan_range(pixels);
  EXPECT_TRUE(AllClose(gan, golden_.tensor("scaling/outputs/gan"), 1e-6, 1e-6));
  EXPECT_TRUE(AllClose(gan_to_judge(gan), golden_.tensor("scaling/outputs/judge"), 1e-5, 1e-5));
}

TEST_F(Score, ScoreOfLogitsMatchesPython) {
  const auto q = quality_of(golden_.tensor("quality/inputs/logits"),
                            golden_.scalar("quality/inputs/threshold"));
  EXPECT_NEAR(q.confident, golden_.scalar("quality/outputs/confident"), 1e-12);
  EXPECT_NEAR(q.entropy_bits, golden_.scalar("quality/outputs/entropy_bits"), 1e-7);
  EXPECT_TRUE(AllClose(q.shares, golden_.tensor("quality/outputs/shares"), 1e-12, 1e-12));
  // Mode collapse: every image one class, no spread at all (and 0, not -0).
  const auto collapsed = quality_of(golden_.tensor("quality/inputs/collapsed"), 0.9);
  EXPECT_EQ(collapsed.entropy_bits, golden_.scalar("quality/outputs/collapsed_entropy_bits"));
  EXPECT_FALSE(std::signbit(collapsed.entropy_bits));
  EXPECT_EQ(collapsed.shares[3].item<double>(), 1.0);
  EXPECT_EQ(format_quality(collapsed),
            "confident 1.000 | class entropy 0.000 bits | largest class 1.000");
}

TEST_F(Judge, JudgeLogitsUseEvalModeInBatches) {
  course::Cnn judge(course::CnnOptions().channels1(4).channels2(4).hidden(8));
  judge->train();
  for (int i = 0; i < 3; ++i) judge->forward(torch::randn({16, 1, 28, 28}));  // running stats
  const auto images = torch::rand({1003, 1, 28, 28}) * 2.0 - 1.0;             // more than one batch
  const auto logits = judge_logits(judge, images);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1003, 10}));
  EXPECT_FALSE(judge->is_training());
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(AllClose(logits, judge->forward(gan_to_judge(images)), 1e-4, 1e-5));
}

TEST_F(Judge, RealImagesScoreHigherThanNoise) {
  const auto train = smoke_split(/*train=*/true);
  const auto test = smoke_split(/*train=*/false);
  const auto judge =
      course::load_or_train_judge(dir_ / "judge.pt", train, /*epochs=*/8, torch::kCPU);
  auto model = judge.model;
  const auto real = quality_of(judge_logits(model, to_gan_range(test.images)), 0.5);
  const auto noise =
      quality_of(judge_logits(model, torch::rand({512, 1, 28, 28}) * 2.0 - 1.0), 0.5);
  EXPECT_GT(real.confident, noise.confident);
  EXPECT_GT(real.entropy_bits, noise.entropy_bits);
  EXPECT_GT(real.entropy_bits, 2.5);  // ten classes, about evenly: log2(10) = 3.32
}

TEST_F(Judge, IsTrainedOnceThenLoaded) {
  const auto train = smoke_split(/*train=*/true);
  const auto path = dir_ / "judge.pt";
  const auto first = course::load_or_train_judge(path, train, /*epochs=*/1, torch::kCPU);
  EXPECT_NE(first.how.find("trained for 1 epochs"), std::string::npos) << first.how;
  ASSERT_TRUE(std::filesystem::exists(path));
  const auto second = course::load_or_train_judge(path, train, /*epochs=*/1, torch::kCPU);
  EXPECT_NE(second.how.find("loaded from"), std::string::npos) << second.how;
  const auto a = first.model->named_parameters();
  const auto b = second.model->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  const auto buffers = second.model->named_buffers();
  EXPECT_TRUE(torch::equal(first.model->bn1->running_mean, buffers["bn1.running_mean"]));
}
