// modules.cpp: the lesson's modules and helpers (see modules.h).
#include "modules.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace course::modules {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

std::string shape_of(const torch::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();  // "[8, 4]"
  return text.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Affine
// ---------------------------------------------------------------------------------------------

AffineImpl::AffineImpl(const AffineOptions& options_) : options(options_) {
  TORCH_CHECK(options.in_features() > 0 && options.out_features() > 0,
              "Affine: in_features and out_features must be positive, got ", options.in_features(),
              " and ", options.out_features());
  // register_parameter makes the tensor a parameter (requires_grad, in parameters(), saved).
  // Python: self.weight = nn.Parameter(torch.empty(out_features, in_features))
  weight =
      register_parameter("weight", torch::empty({options.out_features(), options.in_features()}));
  if (options.bias()) {
    bias = register_parameter("bias", torch::empty({options.out_features()}));
  }
  reset_parameters();
}

void AffineImpl::reset_parameters() {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  // The same defaults as nn::Linear (and Python's nn.Linear).
  torch::nn::init::kaiming_uniform_(weight, /*a=*/std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features()));
    torch::nn::init::uniform_(bias, /*low=*/-bound, /*high=*/bound);
  }
}

torch::Tensor AffineImpl::forward(const torch::Tensor& x) {
  auto y = x.matmul(weight.t());  // (B, out), Python: x @ self.weight.T
  if (bias.defined()) y = y + bias;
  return y;
}

void AffineImpl::pretty_print(std::ostream& stream) const {
  stream << "Affine(in_features=" << options.in_features()
         << ", out_features=" << options.out_features()
         << ", bias=" << (options.bias() ? "true" : "false") << ")";
}

// ---------------------------------------------------------------------------------------------
// Standardize
// ---------------------------------------------------------------------------------------------

StandardizeImpl::StandardizeImpl(int64_t features) {
  TORCH_CHECK(features > 0, "Standardize: features must be positive, got ", features);
  // Python: self.register_buffer("mean", torch.zeros(features))
  mean = register_buffer("mean", torch::zeros({features}));
  stddev = register_buffer("stddev", torch::ones({features}));
}

void StandardizeImpl::fit(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == mean.size(0), "Standardize::fit expects (N, ",
              mean.size(0), ") rows, got shape ", x.sizes());
  TORCH_CHECK(x.size(0) >= 2, "Standardize::fit needs at least 2 rows to measure a spread");
  torch::NoGradGuard no_grad;
  // copy_ writes into the registered buffer. `mean = x.mean(0)` would only re-point this member:
  // the module (and so save, load and to(device)) would keep the old tensor.
  mean.copy_(x.mean(/*dim=*/0));                                        // Python: x.mean(0)
  stddev.copy_(x.std(/*dim=*/{0}, /*unbiased=*/true).clamp_min(1e-6));  // x.std(0).clamp_min(1e-6)
}

torch::Tensor StandardizeImpl::forward(const torch::Tensor& x) {
  return (x - mean) / stddev;
}

void StandardizeImpl::pretty_print(std::ostream& stream) const {
  stream << "Standardize(features=" << mean.size(0) << ")";
}

// ---------------------------------------------------------------------------------------------
// TinyNet
// ---------------------------------------------------------------------------------------------

TinyNetImpl::TinyNetImpl(const TinyNetOptions& options_) : options(options_) {
  TORCH_CHECK(options.in_features() > 0 && options.hidden() > 0 && options.classes() > 0,
              "TinyNet: in_features, hidden and classes must be positive");
  TORCH_CHECK(options.blocks() >= 0, "TinyNet: blocks must be 0 or more, got ", options.blocks());
  TORCH_CHECK(options.dropout() >= 0.0 && options.dropout() < 1.0,
              "TinyNet: dropout must be in [0, 1), got ", options.dropout());
  const int64_t hidden = options.hidden();

  // register_module makes a child: its parameters appear as "input_norm.mean", "stem.weight", ...
  // Python: self.stem = Affine(in_features, hidden) registers by attribute assignment.
  input_norm = register_module("input_norm", Standardize(options.in_features()));
  stem = register_module("stem", Affine(options.in_features(), hidden));

  // ModuleList: a list of modules whose parameters are registered ("blocks.0.0.weight").
  // Python: self.blocks = nn.ModuleList([nn.Sequential(...) for _ in range(blocks)])
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.blocks(); ++i) {
    blocks->push_back(torch::nn::Sequential(torch::nn::Linear(hidden, hidden),
                                            torch::nn::BatchNorm1d(hidden), torch::nn::ReLU(),
                                            torch::nn::Dropout(options.dropout())));
  }

  // ModuleDict: modules by name, in insertion order.
  // Python: self.heads = nn.ModuleDict({"classify": nn.Linear(H, C), "regress": nn.Linear(H, 1)})
  heads = register_module(
      "heads", torch::nn::ModuleDict(std::vector<std::pair<std::string, std::shared_ptr<Module>>>{
                   {"classify", torch::nn::Linear(hidden, options.classes()).ptr()},
                   {"regress", torch::nn::Linear(hidden, 1).ptr()}}));
}

torch::Tensor TinyNetImpl::forward(const torch::Tensor& x, const std::string& task) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == options.in_features(), "TinyNet expects input (B, ",
              options.in_features(), "), got shape ", x.sizes());
  TORCH_CHECK(heads->contains(task), "TinyNet has no head '", task, "'; its heads are ",
              join(tasks()));
  auto h = torch::relu(stem(input_norm(x)));  // (B, H)
  for (const auto& block : *blocks) {
    // A ModuleList holds std::shared_ptr<Module>; as<Sequential>() gets the real type back.
    h = h + block->as<torch::nn::Sequential>()->forward(h);  // (B, H), Python: h = h + block(h)
  }
  return heads->at<torch::nn::LinearImpl>(task).forward(h);  // (B, C) or (B, 1)
}

std::vector<std::string> TinyNetImpl::tasks() const {
  return heads->keys();
}

void TinyNetImpl::pretty_print(std::ostream& stream) const {
  stream << "TinyNet";
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

void init_weights(torch::nn::Module& module) {
  // The init::* functions switch autograd off inside; the guard is for any in-place edit you add
  // here (weight.mul_(0.5)), which on a parameter that requires grad would otherwise throw.
  torch::NoGradGuard no_grad;                           // Python: @torch.no_grad() on the function
  if (auto* linear = module.as<torch::nn::Linear>()) {  // Python: isinstance(m, nn.Linear)
    torch::nn::init::xavier_uniform_(linear->weight);
    torch::nn::init::zeros_(linear->bias);
  } else if (auto* affine = module.as<Affine>()) {
    torch::nn::init::xavier_uniform_(affine->weight);
    if (affine->bias.defined()) torch::nn::init::zeros_(affine->bias);
  } else if (auto* norm = module.as<torch::nn::BatchNorm1d>()) {
    torch::nn::init::ones_(norm->weight);
    torch::nn::init::zeros_(norm->bias);
  }
}

int64_t summary(const torch::nn::Module& module, std::ostream& out) {
  int64_t total = 0;
  int64_t trainable = 0;
  int64_t tensors = 0;
  out << fmt::format("  {:<24} {:<8} {:>6}\n", "parameter", "shape", "values");
  for (const auto& item : module.named_parameters()) {
    const torch::Tensor& parameter = item.value();
    out << fmt::format("  {:<24} {:<8} {:>6}\n", item.key(), shape_of(parameter),
                       parameter.numel());
    total += parameter.numel();
    if (parameter.requires_grad()) trainable += parameter.numel();
    ++tensors;
  }
  int64_t buffer_values = 0;
  const auto buffers = module.named_buffers();
  for (const auto& item : buffers) buffer_values += item.value().numel();
  out << fmt::format("  total: {} parameters in {} tensors ({} trainable)\n", total, tensors,
                     trainable);
  out << fmt::format("  buffers (saved, not trained): {} values in {} tensors\n", buffer_values,
                     buffers.size());
  return total;
}

void set_tensor(torch::nn::Module& module, const std::string& name, const torch::Tensor& value) {
  const auto parameters = module.named_parameters();
  const auto buffers = module.named_buffers();
  torch::Tensor target;  // shares storage with the module's own tensor
  if (const auto* found = parameters.find(name)) {
    target = *found;
  } else if (const auto* found_buffer = buffers.find(name)) {
    target = *found_buffer;
  } else {
    std::vector<std::string> names = parameters.keys();
    for (const auto& key : buffers.keys()) names.push_back(key);
    throw std::invalid_argument(
        fmt::format("no parameter or buffer called '{}'; the names are: {}", name, join(names)));
  }
  TORCH_CHECK(target.sizes() == value.sizes(), "'", name, "' has shape ", target.sizes(),
              " but the new value has shape ", value.sizes());
  torch::NoGradGuard no_grad;
  target.copy_(value);  // converts dtype and device to the module's
}

void load_checked(torch::nn::Module& module, const std::string& path) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;  // (name, shape) before
  for (const auto& item : module.named_parameters()) {
    shapes.emplace_back(item.key(), item.value().sizes().vec());
  }
  for (const auto& item : module.named_buffers()) {
    shapes.emplace_back(item.key(), item.value().sizes().vec());
  }
  torch::serialize::InputArchive archive;  // what torch::load(module, path) does
  archive.load_from(path);
  module.load(archive);
  const auto parameters = module.named_parameters();
  const auto buffers = module.named_buffers();
  for (const auto& [name, shape] : shapes) {
    const torch::Tensor* now = parameters.find(name);
    if (now == nullptr) now = buffers.find(name);
    if (now == nullptr || now->sizes().vec() != shape) {
      throw std::runtime_error(fmt::format(
          "{} holds '{}' with shape {}, but the model expects [{}]: build the model with the "
          "options it was saved with",
          path, name, now == nullptr ? std::string("(none)") : shape_of(*now),
          fmt::join(shape, ", ")));
    }
  }
}

double train_step(TinyNet& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                  const torch::Tensor& targets) {
  optimizer.zero_grad();
  const auto logits = model->forward(x, "classify");  // (B, C)
  const auto loss = torch::nn::functional::cross_entropy(logits, targets);
  const double value = loss.item<double>();
  if (!std::isfinite(value)) {
    throw std::runtime_error(
        fmt::format("the loss is {}: lower the learning rate or check the input", value));
  }
  loss.backward();
  optimizer.step();
  return value;
}

bool adam_states_equal(const torch::optim::Adam& a, const torch::optim::Adam& b) {
  const auto& groups_a = a.param_groups();
  const auto& groups_b = b.param_groups();
  if (groups_a.size() != groups_b.size()) return false;
  for (size_t g = 0; g < groups_a.size(); ++g) {
    const auto& options_a = static_cast<const torch::optim::AdamOptions&>(groups_a[g].options());
    const auto& options_b = static_cast<const torch::optim::AdamOptions&>(groups_b[g].options());
    if (!(options_a == options_b)) return false;
    const auto& params_a = groups_a[g].params();
    const auto& params_b = groups_b[g].params();
    if (params_a.size() != params_b.size()) return false;
    for (size_t i = 0; i < params_a.size(); ++i) {
      // The state is keyed by the parameter's TensorImpl (Python: by the parameter itself).
      const auto found_a = a.state().find(params_a[i].unsafeGetTensorImpl());
      const auto found_b = b.state().find(params_b[i].unsafeGetTensorImpl());
      const bool has_a = found_a != a.state().end();
      const bool has_b = found_b != b.state().end();
      if (has_a != has_b) return false;
      if (!has_a) continue;  // a parameter that never had a gradient has no state
      const auto& state_a = static_cast<const torch::optim::AdamParamState&>(*found_a->second);
      const auto& state_b = static_cast<const torch::optim::AdamParamState&>(*found_b->second);
      if (state_a.step() != state_b.step() || !state_a.exp_avg().equal(state_b.exp_avg()) ||
          !state_a.exp_avg_sq().equal(state_b.exp_avg_sq())) {
        return false;
      }
    }
  }
  return true;
}

double max_state_difference(const torch::nn::Module& a, const torch::nn::Module& b) {
  double worst = 0.0;
  auto compare = [&worst](const torch::OrderedDict<std::string, torch::Tensor>& left,
                          const torch::OrderedDict<std::string, torch::Tensor>& right) {
    if (left.keys() != right.keys()) {
      throw std::invalid_argument(fmt::format("the modules differ in structure: [{}] vs [{}]",
                                              join(left.keys()), join(right.keys())));
    }
    for (size_t i = 0; i < left.size(); ++i) {
      const auto l = left[i].value().detach().to(torch::kCPU, torch::kFloat64);
      const auto r = right[i].value().detach().to(torch::kCPU, torch::kFloat64);
      TORCH_CHECK(l.sizes() == r.sizes(), "'", left[i].key(), "' has shape ", l.sizes(), " vs ",
                  r.sizes());
      if (l.numel() > 0) worst = std::max(worst, (l - r).abs().max().item<double>());
    }
  };
  compare(a.named_parameters(), b.named_parameters());
  compare(a.named_buffers(), b.named_buffers());
  return worst;
}

}  // namespace course::modules
