// Grades lesson 14's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex14_1, ...
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "14.1_gan_losses.cpp"
#include "14.2_class_spread.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("14_gan/exercises");
  return file;
}

// A tiny GAN with Python's weights: the generator noise (B, 3) -> Linear -> tanh -> (B, 6), the
// discriminator (B, 6) -> Linear -> flatten -> logits (B).
struct TinyGan {
  torch::nn::Linear generator{3, 6};
  torch::nn::Sequential discriminator{torch::nn::Linear(6, 1),
                                      torch::nn::Flatten(torch::nn::FlattenOptions().start_dim(0))};

  TinyGan() {
    torch::NoGradGuard no_grad;
    for (auto& item : generator->named_parameters())
      item.value().copy_(golden().tensor("gan/inputs/generator." + item.key()));
    for (auto& item : discriminator->named_parameters())  // "0.weight", "0.bias"
      item.value().copy_(golden().tensor("gan/inputs/discriminator." + item.key()));
  }

  torch::Tensor fake() {  // (B, 6), with the generator's graph behind it
    return torch::tanh(generator(golden().tensor("gan/inputs/noise")));
  }
  torch::Tensor discriminator_weight_grad() {
    return discriminator[0]->as<torch::nn::Linear>()->weight.grad();
  }
};
}  // namespace

TEST(Ex14_1, LossesMatchPython) {
  TinyGan gan;
  const auto losses = gan_losses(gan.discriminator, golden().tensor("gan/inputs/real"), gan.fake());
  EXPECT_TRUE(AllClose(losses.d_loss, golden().tensor("gan/outputs/d_loss")))
      << "d_loss = BCE(D(real), 1) + BCE(D(fake), 0), each averaged over the batch";
  EXPECT_TRUE(AllClose(losses.g_loss, golden().tensor("gan/outputs/g_loss")))
      << "g_loss is the non-saturating -log D(G(z)): BCE(D(fake), 1), the fakes labelled real";
}

TEST(Ex14_1, DiscriminatorLossDoesNotReachTheGenerator) {
  TinyGan gan;
  const auto losses = gan_losses(gan.discriminator, golden().tensor("gan/inputs/real"), gan.fake());
  ASSERT_TRUE(losses.d_loss.requires_grad()) << "d_loss depends on the discriminator's weights";
  losses.d_loss.backward();
  const auto generator_grad = gan.generator->weight.grad();
  EXPECT_TRUE(!generator_grad.defined() || generator_grad.abs().sum().item<double>() == 0)
      << "d_loss.backward() must leave the generator without a gradient: give D fake.detach()";
  ASSERT_TRUE(gan.discriminator_weight_grad().defined())
      << "d_loss.backward() gives the discriminator's weights a gradient";
  EXPECT_TRUE(AllClose(gan.discriminator_weight_grad(), golden().tensor("gan/outputs/d_grad")))
      << "the discriminator's gradient from d_loss matches Python's";
}

TEST(Ex14_1, GeneratorLossReachesTheGenerator) {
  TinyGan gan;
  const auto losses = gan_losses(gan.discriminator, golden().tensor("gan/inputs/real"), gan.fake());
  ASSERT_TRUE(losses.g_loss.requires_grad()) << "g_loss depends on the generator's weights";
  losses.g_loss.backward();
  ASSERT_TRUE(gan.generator->weight.grad().defined())
      << "g_loss.backward() must reach the generator: run D on the fake batch itself, not "
         "fake.detach()";
  EXPECT_TRUE(AllClose(gan.generator->weight.grad(), golden().tensor("gan/outputs/g_grad")))
      << "the generator's gradient from g_loss matches Python's";
}

TEST(Ex14_1, LargeLogitsGiveAFiniteLoss) {
  TinyGan gan;
  const auto real = 5000 * golden().tensor("gan/inputs/real");  // D's logits: -303, -316, 447, 113
  const auto losses = gan_losses(gan.discriminator, real, gan.fake());
  EXPECT_TRUE(std::isfinite(losses.d_loss.item<double>()))
      << "real samples that D scores -303 must give a finite d_loss: use "
         "binary_cross_entropy_with_logits, since sigmoid(-303) rounds to 0 and log(0) is -inf";
  EXPECT_TRUE(AllClose(losses.d_loss, golden().tensor("gan/outputs/large_d_loss")))
      << "and the same d_loss as Python's binary_cross_entropy_with_logits";
}

TEST(Ex14_2, SpreadMatchesPython) {
  const auto logits = golden().tensor("spread/inputs/logits");  // (12, 5); class 4 never wins
  const auto spread = class_spread(logits);
  EXPECT_TRUE(AllClose(spread.shares, golden().tensor("spread/outputs/shares")))
      << "shares (5) are the fraction of the 12 rows whose largest logit is at each class, with 0 "
         "for the classes never predicted, the last one (4) included: bincount with minlength C";
  EXPECT_NEAR(spread.entropy_bits, golden().scalar("spread/outputs/entropy_bits"), 1e-6)
      << "entropy_bits = -sum p log2 p over the shares, 0 log 0 counted as 0";
}

TEST(Ex14_2, OneClassIsZeroBits) {
  auto logits = torch::zeros({8, 10});
  logits.select(/*dim=*/1, 8).fill_(5.0);  // every image a bag (class 8): mode collapse
  const auto spread = class_spread(logits);
  EXPECT_FALSE(std::isnan(spread.entropy_bits))
      << "nine classes with share 0 must not make the entropy NaN: 0 log 0 is 0 (torch::xlogy)";
  EXPECT_NEAR(spread.entropy_bits, 0.0, 1e-12) << "a collapsed generator, one class only: 0 bits";
}

TEST(Ex14_2, EveryClassOnceIsLog2OfC) {
  const auto spread = class_spread(torch::eye(10));  // row i predicts class i
  EXPECT_NEAR(spread.entropy_bits, std::log2(10.0), 1e-9)
      << "ten classes used equally give log2(10) = 3.32 bits";
  EXPECT_TRUE(AllClose(spread.shares, torch::full({10}, 0.1, torch::kFloat64)))
      << "each of the 10 classes has share 0.1";
}
