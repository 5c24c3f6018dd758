// Solution of exercise 14.1: D's loss on real and detached fakes; G's loss with the fakes
// labelled real.
#include <torch/torch.h>

struct GanLosses {
  torch::Tensor d_loss;  // () the discriminator's loss; reaches only D's weights
  torch::Tensor g_loss;  // () the generator's loss, through D into G
};

GanLosses gan_losses(torch::nn::Sequential& discriminator, const torch::Tensor& real,
                     const torch::Tensor& fake) {
  namespace F = torch::nn::functional;
  const auto real_logits = discriminator->forward(real);           // (B)
  const auto fake_logits = discriminator->forward(fake.detach());  // (B): D's step leaves G alone
  const auto d_loss =
      F::binary_cross_entropy_with_logits(real_logits, torch::ones_like(real_logits)) +
      F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
  const auto logits = discriminator->forward(fake);  // (B), with G's graph behind it
  const auto g_loss = F::binary_cross_entropy_with_logits(logits, torch::ones_like(logits));
  return {d_loss, g_loss};
}
