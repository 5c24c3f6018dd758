// mlp.cpp: the MLP, the optimizers, the cosine schedule, the split and one training step.
#include "mlp.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace course::mlp {

MlpImpl::MlpImpl(MlpOptions options_) : options(std::move(options_)) {
  TORCH_CHECK(options.in_features() > 0 && options.classes() > 0,
              "Mlp needs in_features > 0 and classes > 0");
  TORCH_CHECK(options.dropout() >= 0.0 && options.dropout() < 1.0, "Mlp dropout must be in [0, 1)");
  // Python: self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(widths, widths[1:])])
  // The parameters are named layers.0.weight, layers.0.bias, ... on both sides.
  std::vector<int64_t> widths = {options.in_features()};
  widths.insert(widths.end(), options.hidden().begin(), options.hidden().end());
  widths.push_back(options.classes());
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    TORCH_CHECK(widths[i + 1] > 0, "Mlp hidden widths must be > 0");
    // Default init, as in Python: kaiming_uniform_(a=sqrt(5)) weights, uniform bias.
    layers_->push_back(torch::nn::Linear(widths[i], widths[i + 1]));
  }
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  x = x.flatten(/*start_dim=*/1);  // (B, 1, 28, 28) -> (B, 784); (B, 784) stays
  const size_t last = layers_->size() - 1;
  for (size_t i = 0; i < last; ++i) {
    x = torch::relu(layers_[i]->as<torch::nn::Linear>()->forward(x));  // (B, hidden[i])
    // Dropout zeroes each unit with chance p and scales the rest by 1 / (1 - p) while training;
    // in eval() mode it does nothing.
    x = torch::dropout(x, /*p=*/options.dropout(), /*train=*/is_training());
  }
  return layers_[last]->as<torch::nn::Linear>()->forward(x);  // (B, classes): logits
}

std::string MlpImpl::architecture() const {
  return fmt::format("{}-{}-{}", options.in_features(), fmt::join(options.hidden(), "-"),
                     options.classes());
}

double default_lr(const std::string& name) {
  return name == "sgd" ? 0.05 : 1e-3;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<torch::Tensor>& parameters, const OptimizerSettings& settings) {
  const double lr = settings.lr > 0 ? settings.lr : default_lr(settings.name);
  if (settings.name == "sgd") {
    // Python: torch.optim.SGD(params, lr=lr, momentum=0.9)
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(lr).momentum(settings.momentum));
  }
  if (settings.name == "adam") {
    // Python: torch.optim.Adam(params, lr=lr)
    return std::make_unique<torch::optim::Adam>(parameters, torch::optim::AdamOptions(lr));
  }
  if (settings.name == "adamw") {
    // Python: torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(lr).weight_decay(settings.weight_decay));
  }
  throw std::invalid_argument(fmt::format("unknown optimizer '{}'; use one of: {}", settings.name,
                                          fmt::join(kOptimizerNames, ", ")));
}

torch::Tensor normalize_images(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 3 && images.scalar_type() == torch::kUInt8,
              "normalize_images expects uint8 images (N, H, W), got ", images.sizes(), " ",
              images.scalar_type());
  const auto x = images.to(torch::kFloat32).div(255.0);              // (N, 28, 28) in 0..1
  return x.sub(kPixelMean).div(kPixelStd).flatten(/*start_dim=*/1);  // (N, 784)
}

Split split_train_val(int64_t n, int64_t val_size, uint64_t seed) {
  if (val_size <= 0 || val_size >= n) {
    throw std::invalid_argument(fmt::format(
        "a validation split of {} out of {} samples leaves nothing to train or to validate on; "
        "pick --val-size between 1 and {}",
        val_size, n, n - 1));
  }
  // Python: torch.randperm(n, generator=torch.Generator().manual_seed(seed))
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto order = torch::randperm(n, generator, torch::kInt64);  // (n,)
  return {order.slice(/*dim=*/0, val_size, n), order.slice(/*dim=*/0, 0, val_size)};
}

StepResult train_step(Mlp& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      const torch::Tensor& y) {
  optimizer.zero_grad();
  const auto logits = model->forward(x);                              // (B, classes)
  const auto loss = torch::nn::functional::cross_entropy(logits, y);  // () mean over the batch
  loss.backward();
  optimizer.step();
  return {loss.detach(), logits.detach()};
}

}  // namespace course::mlp
