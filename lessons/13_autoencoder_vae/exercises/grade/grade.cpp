// Grades lesson 13's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex13_1, ...
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "13.1_reparameterize.cpp"
#include "13.2_negative_elbo.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("13_autoencoder_vae/exercises");
  return file;
}
}  // namespace

TEST(Ex13_1, SampleMatchesPython) {
  const auto mean = golden().tensor("reparameterize/inputs/mean");  // (4, 3)
  const auto logvar = golden().tensor("reparameterize/inputs/logvar");
  const auto noise = golden().tensor("reparameterize/inputs/noise");
  EXPECT_TRUE(
      AllClose(reparameterize(mean, logvar, noise), golden().tensor("reparameterize/outputs/z")))
      << "z should be mean + exp(0.5 * logvar) * noise: the standard deviation times the noise, "
         "not the variance";
  EXPECT_TRUE(AllClose(reparameterize(mean, logvar, torch::zeros_like(mean)), mean))
      << "with zero noise the sample is the mean itself";
}

TEST(Ex13_1, GradientFlowsToMeanAndLogVariance) {
  const auto mean = golden().tensor("reparameterize/inputs/mean").requires_grad_();
  const auto logvar = golden().tensor("reparameterize/inputs/logvar").requires_grad_();
  const auto noise = golden().tensor("reparameterize/inputs/noise");
  const auto z = reparameterize(mean, logvar, noise);
  ASSERT_TRUE(z.requires_grad())
      << "z must be computed from mean and logvar with tensor operations, so that autograd "
         "reaches them (a drawn number, or a detached one, has no gradient)";
  z.sum().backward();
  ASSERT_TRUE(mean.grad().defined() && logvar.grad().defined())
      << "z.sum().backward() should give both mean and logvar a gradient";
  EXPECT_TRUE(AllClose(mean.grad(), golden().tensor("reparameterize/outputs/mean_grad")))
      << "dz/dmean is 1 for every number";
  EXPECT_TRUE(AllClose(logvar.grad(), golden().tensor("reparameterize/outputs/logvar_grad")))
      << "dz/dlogvar is 0.5 * exp(0.5 * logvar) * noise, as Python's autograd computes it";
}

TEST(Ex13_1, DrawsItsOwnNoiseWhenNoneIsGiven) {
  const auto mean = golden().tensor("reparameterize/inputs/mean");
  const auto logvar = golden().tensor("reparameterize/inputs/logvar");
  torch::manual_seed(13);
  const auto noise = torch::randn_like(mean);  // what randn_like draws after this seed
  torch::manual_seed(13);
  const auto z = reparameterize(mean, logvar);  // noise undefined: Python's None
  EXPECT_TRUE(AllClose(z, mean + torch::exp(0.5 * logvar) * noise))
      << "with no noise given (an undefined tensor), draw it with torch::randn_like(mean): after "
         "torch::manual_seed(13) the sample is mean + std * that noise";
}

TEST(Ex13_2, TermsMatchPython) {
  const auto logits = golden().tensor("elbo/inputs/logits");  // (3, 1, 4, 4)
  const auto images = golden().tensor("elbo/inputs/images");
  const auto mean = golden().tensor("elbo/inputs/mean");  // (3, 2)
  const auto logvar = golden().tensor("elbo/inputs/logvar");
  const auto terms = vae_loss_terms(logits, images, mean, logvar, /*beta=*/1.0);
  EXPECT_TRUE(AllClose(terms.recon, golden().tensor("elbo/outputs/beta1/recon")))
      << "recon is the binary cross-entropy with logits, summed over each image's pixels and "
         "averaged over the 3 images (reduction sum, then / B)";
  EXPECT_TRUE(AllClose(terms.kl, golden().tensor("elbo/outputs/beta1/kl")))
      << "kl is 0.5 * (mean^2 + exp(logvar) - logvar - 1), summed over the 2 latent numbers and "
         "averaged over the 3 images";
  EXPECT_TRUE(AllClose(terms.loss, golden().tensor("elbo/outputs/beta1/loss")))
      << "at beta 1 the loss is recon + kl, the negative ELBO";
}

TEST(Ex13_2, BetaWeighsTheKlTerm) {
  const auto terms = vae_loss_terms(
      golden().tensor("elbo/inputs/logits"), golden().tensor("elbo/inputs/images"),
      golden().tensor("elbo/inputs/mean"), golden().tensor("elbo/inputs/logvar"), /*beta=*/0.25);
  EXPECT_TRUE(AllClose(terms.loss, golden().tensor("elbo/outputs/beta0.25/loss")))
      << "at beta 0.25 the loss is recon + 0.25 * kl";
  EXPECT_TRUE(AllClose(terms.kl, golden().tensor("elbo/outputs/beta0.25/kl")))
      << "kl itself does not depend on beta: beta weighs it only in the loss";
}

TEST(Ex13_2, KlIsZeroAtThePrior) {
  const auto images = golden().tensor("elbo/inputs/images");
  const auto terms = vae_loss_terms(golden().tensor("elbo/inputs/logits"), images,
                                    torch::zeros({3, 2}), torch::zeros({3, 2}), /*beta=*/1.0);
  ASSERT_TRUE(terms.kl.defined()) << "vae_loss_terms returns a kl tensor";
  EXPECT_NEAR(terms.kl.item<double>(), 0.0, 1e-7)
      << "when q(z | image) is the prior N(0, 1) (mean 0, logvar 0) the KL term is 0";
}

TEST(Ex13_2, LargeLogitsStayExact) {
  const auto terms = vae_loss_terms(
      golden().tensor("elbo/inputs/large_logits"), golden().tensor("elbo/inputs/images"),
      golden().tensor("elbo/inputs/mean"), golden().tensor("elbo/inputs/logvar"), /*beta=*/1.0);
  ASSERT_TRUE(terms.recon.defined()) << "vae_loss_terms returns a recon tensor";
  EXPECT_TRUE(std::isfinite(terms.recon.item<double>()))
      << "logits of +-300 must give a finite loss: use binary_cross_entropy_with_logits, not "
         "log(sigmoid(logits)), where sigmoid(300) rounds to 1 and log(1 - 1) is -inf";
  EXPECT_TRUE(AllClose(terms.recon, golden().tensor("elbo/outputs/large/recon")))
      << "confidently wrong logits of +-300 cost up to 300 nats a pixel, as Python's "
         "binary_cross_entropy_with_logits computes (binary_cross_entropy of sigmoids clamps each "
         "log at -100)";
}
