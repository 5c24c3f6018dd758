// Exercise 14.1: the two losses of a GAN step.
//
// Write gan_losses(discriminator, real, fake): real (B, F) real samples, fake (B, F) what the
// generator just made from noise (it carries the generator's graph). discriminator->forward(x)
// gives one logit per sample, (B): above 0 means "real". Return two () tensors:
//   d_loss: the discriminator's loss, binary cross-entropy of "real is 1, fake is 0":
//           BCE(D(real), 1) + BCE(D(fake), 0), each the mean over the batch. Its backward must
//           not reach the generator: give D the fake batch through fake.detach().
//   g_loss: the generator's non-saturating loss, -log D(G(z)): BCE(D(fake), 1), the fakes
//           labelled "real", through the fake batch itself (not detached: G learns from it).
// Work on logits with binary_cross_entropy_with_logits: a logit of -300 must still give a finite
// loss, which log(sigmoid(logit)) cannot.
// Python:  d_loss = F.binary_cross_entropy_with_logits(D(real), ones) +
//                   F.binary_cross_entropy_with_logits(D(fake.detach()), zeros)
//          g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
//
// Check it: ./course check 14.1     A hint: ./course hint 14.1
#include <torch/torch.h>

struct GanLosses {
  torch::Tensor d_loss;  // () the discriminator's loss; reaches only D's weights
  torch::Tensor g_loss;  // () the generator's loss, through D into G
};

GanLosses gan_losses(torch::nn::Sequential& discriminator, const torch::Tensor& real,
                     const torch::Tensor& fake) {
  // TODO: replace these lines with your code.
  const auto zero = discriminator->forward(real).sum() * 0;
  return {zero, zero};
}
