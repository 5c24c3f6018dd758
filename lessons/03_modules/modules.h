// modules.h: the lesson's modules (Affine, Standardize, TinyNet) written in LibTorch's own idiom,
// and the helpers main.cpp and the tests share: init_weights, summary, set_tensor, load_checked,
// train_step, adam_states_equal, max_state_difference.
//
// Each module follows torch/nn/modules/linear.h: an options struct, an XImpl class that registers
// its parameters, buffers and submodules in the constructor, and TORCH_MODULE(X), which makes X a
// shared pointer to XImpl (Python objects are shared references too: `b = a` does not copy).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace course::modules {

// ---------------------------------------------------------------------------------------------
// Affine: y = x W^T + b, a hand-written nn::Linear, to show register_parameter.
// ---------------------------------------------------------------------------------------------

/// Options for Affine, in the style of torch::nn::LinearOptions.
struct AffineOptions {
  AffineOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);   ///< size of each input row, e.g. 4
  TORCH_ARG(int64_t, out_features);  ///< size of each output row, e.g. 8
  TORCH_ARG(bool, bias) = true;      ///< learn an additive bias
};

/// Python: class Affine(nn.Module) with self.weight = nn.Parameter(...).
class AffineImpl : public torch::nn::Module {
 public:
  AffineImpl(int64_t in_features, int64_t out_features)
      : AffineImpl(AffineOptions(in_features, out_features)) {}
  explicit AffineImpl(const AffineOptions& options);

  /// Kaiming-uniform weight and uniform bias, the same defaults as nn::Linear.
  void reset_parameters();
  /// (B, in_features) -> (B, out_features).
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  AffineOptions options;
  torch::Tensor weight;  ///< (out_features, in_features), trained
  torch::Tensor bias;    ///< (out_features), trained; undefined when options.bias() is false
};
TORCH_MODULE(Affine);

// ---------------------------------------------------------------------------------------------
// Standardize: (x - mean) / std with mean and std as buffers, to show register_buffer.
// ---------------------------------------------------------------------------------------------

/// Buffers are state that is saved and moved with the model but never trained (no gradient, not
/// in parameters(), so not seen by an optimizer). Python: self.register_buffer("mean", ...).
class StandardizeImpl : public torch::nn::Module {
 public:
  explicit StandardizeImpl(int64_t features);

  /// Sets mean and std from a batch (N, features), without recording autograd.
  void fit(const torch::Tensor& x);
  /// (B, features) -> (B, features).
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  torch::Tensor mean;    ///< (features), buffer, starts at 0
  torch::Tensor stddev;  ///< (features), buffer, starts at 1
};
TORCH_MODULE(Standardize);

// ---------------------------------------------------------------------------------------------
// TinyNet: one model that uses every container.
// ---------------------------------------------------------------------------------------------

/// Options for TinyNet.
struct TinyNetOptions {
  TinyNetOptions(int64_t in_features, int64_t hidden, int64_t classes)
      : in_features_(in_features), hidden_(hidden), classes_(classes) {}
  TORCH_ARG(int64_t, in_features);   ///< input features, e.g. 4
  TORCH_ARG(int64_t, hidden);        ///< width of the hidden layers, e.g. 8
  TORCH_ARG(int64_t, classes);       ///< outputs of the "classify" head, e.g. 3
  TORCH_ARG(int64_t, blocks) = 2;    ///< residual blocks in the ModuleList
  TORCH_ARG(double, dropout) = 0.5;  ///< dropout probability inside each block, in [0, 1)
};

/// input_norm (Standardize, buffers) -> stem (Affine) -> ReLU
///   -> blocks (ModuleList of Sequential: Linear, BatchNorm1d, ReLU, Dropout), each residual
///   -> heads (ModuleDict: "classify" -> (B, classes), "regress" -> (B, 1)), one head per task.
/// B = batch, F = in_features, H = hidden.
class TinyNetImpl : public torch::nn::Module {
 public:
  TinyNetImpl(int64_t in_features, int64_t hidden, int64_t classes)
      : TinyNetImpl(TinyNetOptions(in_features, hidden, classes)) {}
  explicit TinyNetImpl(const TinyNetOptions& options);

  /// (B, F) -> the output of the head called `task`; throws listing the heads for an unknown one.
  torch::Tensor forward(const torch::Tensor& x, const std::string& task);
  /// The names of the heads, in order: {"classify", "regress"}.
  std::vector<std::string> tasks() const;
  void pretty_print(std::ostream& stream) const override;

  TinyNetOptions options;
  Standardize input_norm{nullptr};  // {nullptr}: an empty holder, filled in the constructor
  Affine stem{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::ModuleDict heads{nullptr};
};
TORCH_MODULE(TinyNet);

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

/// For model->apply(init_weights): Xavier-uniform weights and zero biases for Linear and Affine,
/// weight 1 and bias 0 for BatchNorm1d; other modules are left alone.
void init_weights(torch::nn::Module& module);

/// Prints one line per parameter (name, shape, count), then the totals, and returns the total
/// number of parameter values (Python: sum(p.numel() for p in model.parameters())).
int64_t summary(const torch::nn::Module& module, std::ostream& out);

/// Copies `value` into the parameter or buffer called `name` (e.g. "stem.weight"), without
/// recording autograd, keeping its device and dtype. Throws when the name does not exist (listing
/// the names that do) or the shape differs. This is how weights cross from Python to C++.
void set_tensor(torch::nn::Module& module, const std::string& name, const torch::Tensor& value);

/// torch::load(module, path) plus the check that Python's load_state_dict makes and LibTorch's
/// does not: every parameter and buffer keeps its shape. (torch::load swaps in the saved tensors,
/// whatever their shape, so a model built with other options "loads" without an error.) Throws
/// naming the first tensor whose shape changed; the module is then half-loaded: do not use it.
void load_checked(torch::nn::Module& module, const std::string& path);

/// One optimisation step of cross-entropy on the "classify" head: zero_grad, forward, backward,
/// step. Returns the loss before the step. Throws when the loss is not finite.
double train_step(TinyNet& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                  const torch::Tensor& targets);

/// Whether two Adam optimizers hold the same options and, parameter by parameter (in order),
/// the same step count and moment tensors (exactly equal).
bool adam_states_equal(const torch::optim::Adam& a, const torch::optim::Adam& b);

/// Largest |a - b| over every parameter and buffer of two modules with the same structure
/// (0 means identical). Throws when the names differ.
double max_state_difference(const torch::nn::Module& a, const torch::nn::Module& b);

}  // namespace course::modules
