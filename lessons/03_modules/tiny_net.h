// tiny_net.h: lesson 03's modules in LibTorch's own idiom, one of each thing a module can hold:
//   Affine       a hand-written nn::Linear: register_parameter
//   Standardize  (x - mean) / stddev with two buffers: register_buffer
//   TinyNet      submodules (register_module) in every container: Sequential, ModuleList,
//                ModuleDict
// Each follows torch/nn/modules/linear.h: an options struct, an XImpl class that registers its
// tensors and submodules in the constructor, and TORCH_MODULE(X), which makes X a shared pointer
// to XImpl (Python objects are shared references too: `b = a` does not copy the model).
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace course {

// Dimension legend: B = batch, F = in_features, H = hidden, C = classes.

/// The sizes of an Affine, in the style of torch::nn::LinearOptions.
struct AffineOptions {
  AffineOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);   ///< size of each input row, e.g. 4
  TORCH_ARG(int64_t, out_features);  ///< size of each output row, e.g. 8
  TORCH_ARG(bool, bias) = true;      ///< learn an additive bias
};

/// y = x W^T + b. Python: class Affine(nn.Module) with self.weight = nn.Parameter(...)
class AffineImpl : public torch::nn::Module {
 public:
  AffineImpl(int64_t in_features, int64_t out_features)
      : AffineImpl(AffineOptions(in_features, out_features)) {}
  explicit AffineImpl(const AffineOptions& options_) : options(options_) {
    TORCH_CHECK(options.in_features() > 0 && options.out_features() > 0,
                "Affine: in_features and out_features must be positive");
    // register_parameter: trained (requires_grad), in parameters(), saved, moved by to(device).
    // Python: self.weight = nn.Parameter(torch.empty(out_features, in_features))
    weight =
        register_parameter("weight", torch::empty({options.out_features(), options.in_features()}));
    if (options.bias()) bias = register_parameter("bias", torch::empty({options.out_features()}));
    reset_parameters();
  }

  /// nn::Linear's default init (and Python's): Kaiming-uniform weight, uniform bias.
  void reset_parameters() {
    torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
    torch::nn::init::kaiming_uniform_(weight, /*a=*/std::sqrt(5.0));
    if (bias.defined()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features()));
      torch::nn::init::uniform_(bias, /*low=*/-bound, /*high=*/bound);
    }
  }

  /// (B, in_features) -> (B, out_features). Python: x @ self.weight.T + self.bias
  torch::Tensor forward(const torch::Tensor& x) {
    const auto y = x.matmul(weight.t());
    return bias.defined() ? y + bias : y;
  }

  /// What `std::cout << *model` shows. Python: extra_repr
  void pretty_print(std::ostream& stream) const override {
    stream << "Affine(in_features=" << options.in_features()
           << ", out_features=" << options.out_features()
           << ", bias=" << (options.bias() ? "true" : "false") << ")";
  }

  AffineOptions options;
  torch::Tensor weight;  ///< (out_features, in_features), trained
  torch::Tensor bias;    ///< (out_features), trained; undefined without options.bias()
};
TORCH_MODULE(Affine);

/// (x - mean) / stddev per feature. mean and stddev are buffers: state that is saved and moved
/// with the model but never trained (no gradient, not in parameters(), unseen by an optimizer).
class StandardizeImpl : public torch::nn::Module {
 public:
  explicit StandardizeImpl(int64_t features) {
    TORCH_CHECK(features > 0, "Standardize: features must be positive, got ", features);
    // Python: self.register_buffer("mean", torch.zeros(features))
    mean = register_buffer("mean", torch::zeros({features}));
    stddev = register_buffer("stddev", torch::ones({features}));
  }

  /// Sets mean and stddev from rows x (N, features), N >= 2, without recording autograd.
  void fit(const torch::Tensor& x) {
    TORCH_CHECK(x.dim() == 2 && x.size(1) == mean.size(0) && x.size(0) >= 2,
                "Standardize::fit expects (N, ", mean.size(0), ") rows with N >= 2, got ",
                x.sizes());
    torch::NoGradGuard no_grad;
    // copy_ writes INTO the registered buffer; `mean = x.mean(0)` would only re-point this
    // member, and the module (so save, load and to(device)) would keep the old tensor.
    mean.copy_(x.mean(/*dim=*/0));                                        // Python: x.mean(0)
    stddev.copy_(x.std(/*dim=*/{0}, /*unbiased=*/true).clamp_min(1e-6));  // x.std(0)
  }

  /// (B, features) -> (B, features).
  torch::Tensor forward(const torch::Tensor& x) { return (x - mean) / stddev; }

  void pretty_print(std::ostream& stream) const override {
    stream << "Standardize(features=" << mean.size(0) << ")";
  }

  torch::Tensor mean;    ///< (features), buffer, starts at 0
  torch::Tensor stddev;  ///< (features), buffer, starts at 1
};
TORCH_MODULE(Standardize);

/// The sizes of a TinyNet. The defaults of blocks and dropout are lesson 03's.
struct TinyNetOptions {
  TinyNetOptions(int64_t in_features, int64_t hidden, int64_t classes)
      : in_features_(in_features), hidden_(hidden), classes_(classes) {}
  TORCH_ARG(int64_t, in_features);   ///< input features, e.g. 4
  TORCH_ARG(int64_t, hidden);        ///< width of the hidden layers, e.g. 8
  TORCH_ARG(int64_t, classes);       ///< outputs of the "classify" head, e.g. 3
  TORCH_ARG(int64_t, blocks) = 2;    ///< residual blocks in the ModuleList
  TORCH_ARG(double, dropout) = 0.5;  ///< dropout probability inside each block, in [0, 1)
};

/// input_norm (Standardize) -> stem (Affine) -> ReLU
///   -> blocks: ModuleList of Sequential(Linear, BatchNorm1d, ReLU, Dropout), each residual
///   -> heads: ModuleDict {"classify": (B, C), "regress": (B, 1)}, one head per task.
class TinyNetImpl : public torch::nn::Module {
 public:
  explicit TinyNetImpl(const TinyNetOptions& options_) : options(options_) {
    TORCH_CHECK(options.in_features() > 0 && options.hidden() > 0 && options.classes() > 0,
                "TinyNet: in_features, hidden and classes must be positive");
    TORCH_CHECK(options.dropout() >= 0.0 && options.dropout() < 1.0,
                "TinyNet: dropout must be in [0, 1), got ", options.dropout());
    const int64_t hidden = options.hidden();
    // register_module makes a child: its tensors are named "stem.weight", "input_norm.mean", ...
    // Python registers a child by attribute assignment: self.stem = Affine(in_features, hidden)
    input_norm = register_module("input_norm", Standardize(options.in_features()));
    stem = register_module("stem", Affine(options.in_features(), hidden));
    // Python: self.blocks = nn.ModuleList([nn.Sequential(...) for _ in range(blocks)])
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < options.blocks(); ++i) {
      blocks->push_back(torch::nn::Sequential(torch::nn::Linear(hidden, hidden),
                                              torch::nn::BatchNorm1d(hidden), torch::nn::ReLU(),
                                              torch::nn::Dropout(options.dropout())));
    }
    // Python: self.heads = nn.ModuleDict({"classify": nn.Linear(H, C), "regress": ...})
    using Named = std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>;
    heads = register_module(
        "heads", torch::nn::ModuleDict(
                     Named{{"classify", torch::nn::Linear(hidden, options.classes()).ptr()},
                           {"regress", torch::nn::Linear(hidden, /*out_features=*/1).ptr()}}));
  }

  /// (B, F) -> the output of the head called `task`: (B, C) or (B, 1).
  torch::Tensor forward(const torch::Tensor& x, const std::string& task) {
    TORCH_CHECK(x.dim() == 2 && x.size(1) == options.in_features(), "TinyNet expects input (B, ",
                options.in_features(), "), got shape ", x.sizes());
    if (!heads->contains(task)) {
      std::string names;
      for (const auto& name : tasks()) names += (names.empty() ? "" : ", ") + name;
      TORCH_CHECK(false, "TinyNet has no head '", task, "'; its heads are ", names);
    }
    auto h = torch::relu(stem(input_norm(x)));  // (B, H)
    for (const auto& block : *blocks) {
      // A ModuleList holds std::shared_ptr<Module>: as<Sequential>() gets the real type back.
      h = h + block->as<torch::nn::Sequential>()->forward(h);  // Python: h = h + block(h)
    }
    return heads->at<torch::nn::LinearImpl>(task).forward(h);  // Python: self.heads[task](h)
  }

  /// The names of the heads, in order: {"classify", "regress"}.
  std::vector<std::string> tasks() const { return heads->keys(); }

  void pretty_print(std::ostream& stream) const override { stream << "TinyNet"; }

  TinyNetOptions options;
  Standardize input_norm{nullptr};  // {nullptr}: an empty holder, filled in the constructor
  Affine stem{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::ModuleDict heads{nullptr};
};
TORCH_MODULE(TinyNet);

}  // namespace course
