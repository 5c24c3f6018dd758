// Solution of exercise 13.2: BCE with logits summed per image, the closed-form KL, beta between.
#include <torch/torch.h>

struct ElboTerms {
  torch::Tensor loss, recon, kl;  // () each: recon + beta * kl, and its two parts
};

ElboTerms vae_loss_terms(const torch::Tensor& logits, const torch::Tensor& images,
                         const torch::Tensor& mean, const torch::Tensor& logvar, double beta) {
  namespace F = torch::nn::functional;
  const auto recon = F::binary_cross_entropy_with_logits(
                         logits, images,
                         F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)) /
                     images.size(0);  // nats per image
  const auto kl = (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).sum(/*dim=*/1).mean();
  return {recon + beta * kl, recon, kl};
}
