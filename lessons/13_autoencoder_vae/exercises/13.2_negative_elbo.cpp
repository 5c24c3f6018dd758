// Exercise 13.2: the VAE's loss, the negative ELBO: reconstruction + beta * KL.
//
// Write vae_loss_terms(logits, images, mean, logvar, beta):
//   logits (B, 1, H, W): the decoder's raw outputs; sigmoid(logits) are the pixel probabilities
//   images (B, 1, H, W): the pixels, in [0, 1]
//   mean, logvar (B, L): the encoder's q(z | image) = N(mean, exp(logvar))
// Return three () tensors, in nats per image:
//   recon = binary cross-entropy of the logits against the images, SUMMED over the pixels and
//           averaged over the B images (not averaged over the pixels)
//   kl    = 0.5 * sum over the L numbers of (mean^2 + exp(logvar) - logvar - 1), averaged over B
//   loss  = recon + beta * kl
// Use the _with_logits form of the cross-entropy: logits of +-300 must give the exact, finite
// loss, which sigmoid and then log cannot (and binary_cross_entropy clamps its logs at -100).
// Python:  recon = F.binary_cross_entropy_with_logits(logits, images, reduction="sum") / B
//          kl = (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).sum(1).mean()
//
// Check it: ./course check 13.2     A hint: ./course hint 13.2
#include <torch/torch.h>

struct ElboTerms {
  torch::Tensor loss, recon, kl;  // () each: recon + beta * kl, and its two parts
};

ElboTerms vae_loss_terms(const torch::Tensor& logits, const torch::Tensor& images,
                         const torch::Tensor& mean, const torch::Tensor& logvar, double beta) {
  // TODO: replace these lines with your code.
  const auto zero = torch::zeros({}, logits.options());
  return {zero, zero, zero};
}
