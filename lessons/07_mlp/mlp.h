// mlp.h: lesson 07's model, a multilayer perceptron with dropout, in LibTorch's own idiom (an
// options struct, MlpImpl, TORCH_MODULE). Lesson 07 trains it; a later lesson may include it as
// "07_mlp/mlp.h".
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace course {

// Dimension legend: B = batch, 784 = 28 x 28 pixels in a row.

/// The shape of an Mlp: in_features -> hidden[0] -> hidden[1] -> ... -> classes.
struct MlpOptions {
  MlpOptions(int64_t in_features, std::vector<int64_t> hidden, int64_t classes)
      : in_features_(in_features), hidden_(std::move(hidden)), classes_(classes) {}
  TORCH_ARG(int64_t, in_features);          ///< 784 for a 28x28 image
  TORCH_ARG(std::vector<int64_t>, hidden);  ///< widths of the hidden layers, e.g. {512, 256}
  TORCH_ARG(int64_t, classes);              ///< 10 for Fashion-MNIST
  TORCH_ARG(double, dropout) = 0.2;         ///< chance to zero a hidden unit while training
};

/// Linear -> ReLU -> Dropout for every hidden layer, then a Linear head that gives logits.
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(MlpOptions options_) : options(std::move(options_)) {
    TORCH_CHECK(options.in_features() > 0 && options.classes() > 0,
                "Mlp needs in_features > 0 and classes > 0");
    TORCH_CHECK(options.dropout() >= 0.0 && options.dropout() < 1.0,
                "Mlp dropout must be in [0, 1), got ", options.dropout());
    // Python: self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
    // The parameters are named layers.0.weight, layers.0.bias, ... on both sides.
    const std::vector<int64_t> widths = this->widths();
    layers = register_module("layers", torch::nn::ModuleList());
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
      TORCH_CHECK(widths[i + 1] > 0, "Mlp hidden widths must be > 0");
      layers->push_back(torch::nn::Linear(widths[i], widths[i + 1]));  // PyTorch's default init
    }
  }
  MlpImpl(int64_t in_features, std::vector<int64_t> hidden, int64_t classes)
      : MlpImpl(MlpOptions(in_features, std::move(hidden), classes)) {}

  /// Images (B, 1, 28, 28) or rows (B, 784) -> logits (B, classes).
  torch::Tensor forward(torch::Tensor x) {
    x = x.flatten(/*start_dim=*/1);  // (B, 784)
    const size_t last = layers->size() - 1;
    for (size_t i = 0; i < last; ++i) {
      x = torch::relu(layers[i]->as<torch::nn::Linear>()->forward(x));  // (B, hidden[i])
      // Dropout zeroes each unit with chance p and scales the rest by 1 / (1 - p), while
      // training only: in eval() mode it does nothing. Python: F.dropout(x, p, self.training)
      x = torch::dropout(x, /*p=*/options.dropout(), /*train=*/is_training());
    }
    return layers[last]->as<torch::nn::Linear>()->forward(x);  // (B, classes)
  }

  /// "784-512-256-10": the layer widths, printed and used to refuse a checkpoint of another shape.
  std::string architecture() const { return fmt::format("{}", fmt::join(widths(), "-")); }

  /// {784, 512, 256, 10}: in_features, the hidden widths, classes.
  std::vector<int64_t> widths() const {
    std::vector<int64_t> widths = {options.in_features()};
    widths.insert(widths.end(), options.hidden().begin(), options.hidden().end());
    widths.push_back(options.classes());
    return widths;
  }

  MlpOptions options;
  torch::nn::ModuleList layers;  ///< the Linear layers; the last one is the head
};
TORCH_MODULE(Mlp);

}  // namespace course
