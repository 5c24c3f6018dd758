// mlp.h: lesson 07's model and training pieces: a multilayer perceptron with dropout, the three
// optimizers the lesson compares, a cosine learning-rate schedule, the train/validation split and
// one training step. main.cpp and tests/lessons/test_07_mlp.cpp both use them.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace course::mlp {

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

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
  explicit MlpImpl(MlpOptions options);
  MlpImpl(int64_t in_features, std::vector<int64_t> hidden, int64_t classes)
      : MlpImpl(MlpOptions(in_features, std::move(hidden), classes)) {}

  /// (B, in_features), or images (B, 1, 28, 28) that are flattened first -> logits (B, classes).
  torch::Tensor forward(torch::Tensor x);

  /// "784-512-256-10": the layer widths, used to refuse a checkpoint of another shape.
  std::string architecture() const;

  MlpOptions options;

 private:
  torch::nn::ModuleList layers_;  // Linear layers; the last one is the head
};
TORCH_MODULE(Mlp);

// ---------------------------------------------------------------------------------------------
// Optimizers and the learning-rate schedule
// ---------------------------------------------------------------------------------------------

/// The optimizer names --optimizer accepts.
inline const std::vector<std::string> kOptimizerNames = {"sgd", "adam", "adamw"};

/// What an optimizer is built with. lr <= 0 means "the usual value for this optimizer".
struct OptimizerSettings {
  std::string name = "adamw";  ///< sgd | adam | adamw
  double lr = 0.0;             ///< 0: default_lr(name)
  double momentum = 0.9;       ///< sgd only
  double weight_decay = 0.01;  ///< adamw only (decoupled weight decay)
};

/// 0.05 for sgd, 1e-3 for adam and adamw.
double default_lr(const std::string& name);

/// SGD with momentum, Adam or AdamW over `parameters`. Throws std::invalid_argument for an
/// unknown name, listing the known ones.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<torch::Tensor>& parameters, const OptimizerSettings& settings);

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// Fashion-MNIST's mean and standard deviation over the training pixels (after /255).
constexpr double kPixelMean = 0.2860;
constexpr double kPixelStd = 0.3530;

/// uint8 images (N, 28, 28) -> normalised float rows (N, 784): (x / 255 - mean) / std.
torch::Tensor normalize_images(const torch::Tensor& images);

/// Indices of a train/validation split of n samples: a permutation drawn from a generator seeded
/// with `seed` alone, so the split is the same in every run with that seed (and after --resume).
struct Split {
  torch::Tensor train;       ///< (n - val_size,) int64
  torch::Tensor validation;  ///< (val_size,) int64
};
Split split_train_val(int64_t n, int64_t val_size, uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/// What one training step gives back, detached from the graph. No .item() here: reading a number
/// waits for the device, so the caller does it only when it logs.
struct StepResult {
  torch::Tensor loss;    ///< () mean cross-entropy of the batch, before the step
  torch::Tensor logits;  ///< (B, classes), before the step
};

/// One optimizer step on a batch: forward, cross-entropy, backward, step.
StepResult train_step(Mlp& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      const torch::Tensor& y);

}  // namespace course::mlp
