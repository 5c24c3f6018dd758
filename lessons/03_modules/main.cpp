// 03_modules: how a LibTorch model is built, looked into, initialised, switched between training
// and evaluation, moved to a device, saved and loaded, next to the Python you know.
//
// What it teaches: modules in LibTorch's idiom (options struct, XImpl, TORCH_MODULE, and
// register_parameter / register_buffer / register_module: tiny_net.h); named_parameters,
// named_buffers, named_children and a summary; Sequential, ModuleList, ModuleDict; torch::nn::init
// through apply(); train() vs eval(); .to(device); torch::save / torch::load of a model and its
// optimizer, with the shape check that torch::load does not make.
// What it leaves out on purpose: real data and a training loop (lesson 04 on), TorchScript, and
// a file format shared with Python (the tests move weights by name instead).
//
// Run:  ./course run 03                    (about a second, no dataset)
//       ./course run 03 -- --hidden 16     (its flags: --hidden, --dropout and the shared ones)
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "course/files.h"
#include "course/lesson.h"
#include "tiny_net.h"

// Dimension legend: B = batch, F = in_features, H = hidden, C = classes.

// ==== Configuration ==============================================================================
struct Config {
  int64_t in_features = 4;  // features per input row
  int64_t hidden = 8;       // width of the hidden layers (--hidden)
  int64_t classes = 3;      // outputs of the "classify" head
  int64_t blocks = 2;       // residual blocks in the ModuleList
  double dropout = 0.5;     // dropout probability in each block (--dropout)
  int64_t batch = 6;        // rows in the demo batch
  double lr = 1e-2;         // Adam's learning rate
};

// ==== Initialisation: model->apply(init_weights) calls this on every module, the model first ====
void init_weights(torch::nn::Module& module) {
  // init::* switch autograd off inside; the guard covers any in-place edit you add here.
  torch::NoGradGuard no_grad;                           // Python: @torch.no_grad()
  if (auto* linear = module.as<torch::nn::Linear>()) {  // Python: isinstance(m, nn.Linear)
    torch::nn::init::xavier_uniform_(linear->weight);
    torch::nn::init::zeros_(linear->bias);
  } else if (auto* affine = module.as<course::Affine>()) {
    torch::nn::init::xavier_uniform_(affine->weight);
    if (affine->bias.defined()) torch::nn::init::zeros_(affine->bias);
  } else if (auto* norm = module.as<torch::nn::BatchNorm1d>()) {
    torch::nn::init::ones_(norm->weight);
    torch::nn::init::zeros_(norm->bias);
  }
}

// ==== Looking inside =============================================================================
// Every tensor a module saves, by name: its parameters, then its buffers. Python: state_dict()
torch::OrderedDict<std::string, torch::Tensor> state_dict(const torch::nn::Module& module) {
  auto state = module.named_parameters();
  for (const auto& item : module.named_buffers()) state.insert(item.key(), item.value());
  return state;
}

// One line per parameter (name, shape, values), then the total, which it returns.
// Python: sum(p.numel() for p in model.parameters())
int64_t summary(const torch::nn::Module& module, std::ostream& out) {
  int64_t total = 0;
  out << fmt::format("  {:<24} {:<8} {:>6}\n", "parameter", "shape", "values");
  for (const auto& item : module.named_parameters()) {
    const torch::Tensor& parameter = item.value();
    const auto shape = fmt::format("[{}]", fmt::join(parameter.sizes(), ", "));
    out << fmt::format("  {:<24} {:<8} {:>6}\n", item.key(), shape, parameter.numel());
    total += parameter.numel();
  }
  out << fmt::format("  total: {} parameters in {} tensors\n", total, module.parameters().size());
  return total;
}

// Largest |a - b| over every parameter and buffer of two models built alike (0: identical).
double max_difference(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto other = state_dict(b);
  double worst = 0.0;
  for (const auto& item : state_dict(a)) {
    const auto difference = (item.value() - other[item.key()]).abs();  // [] throws if missing
    if (difference.numel() > 0) worst = std::max(worst, difference.max().item<double>());
  }
  return worst;
}

// ==== Training and predicting: each sets the mode it needs =======================================
// One Adam step of cross-entropy on the "classify" head; returns the loss before the step.
double train_step(course::TinyNet& model, torch::optim::Optimizer& optimizer,
                  const torch::Tensor& x, const torch::Tensor& targets) {
  model->train();         // dropout on; batch norm uses the batch's statistics and updates its own
  optimizer.zero_grad();  // gradients add up unless cleared
  const auto logits = model->forward(x, "classify");  // (B, C)
  const auto loss = torch::nn::functional::cross_entropy(logits, targets);
  const double value = loss.item<double>();
  if (!std::isfinite(value)) {
    throw std::runtime_error(fmt::format("the loss is {}: lower the learning rate", value));
  }
  loss.backward();
  optimizer.step();
  return value;
}

// The model's answer when measuring or using it: eval() mode and no autograd graph.
torch::Tensor predict(course::TinyNet& model, const torch::Tensor& x, const std::string& task) {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  model->eval();               // dropout off; batch norm uses its running statistics, unchanged
  return model->forward(x, task);
}

// ==== Saving and loading =========================================================================
// model.pt and optimizer.pt in `dir`. Python: torch.save(model.state_dict(), dir / "model.pt")
void save_checkpoint(const course::TinyNet& model, const torch::optim::Adam& optimizer,
                     const std::filesystem::path& dir) {
  // torch::save(model, path) works too, but on a full disk it stops the program half-way through
  // the file (LibTorch's writer throws from a destructor): save into memory, then write the bytes
  // with course::write_file_atomically, which keeps the old file and says which one failed.
  std::ostringstream model_bytes, optimizer_bytes;
  torch::save(model, model_bytes);
  torch::save(optimizer, optimizer_bytes);  // lr, step counts, Adam's moments
  course::write_file_atomically(dir / "model.pt", model_bytes.str());
  course::write_file_atomically(dir / "optimizer.pt", optimizer_bytes.str());
}

// Loads save_checkpoint's files into a model built alike and an optimizer on its parameters.
// torch::load swaps in each saved tensor whatever its shape, so a model with other options would
// "load" and silently differ from its options; Python's load_state_dict refuses, and so does this.
void load_checkpoint(course::TinyNet& model, torch::optim::Adam& optimizer,
                     const std::filesystem::path& dir) {
  std::vector<std::vector<int64_t>> shapes;  // the model's, in state_dict order
  for (const auto& item : state_dict(*model)) shapes.push_back(item.value().sizes().vec());
  const auto path = (dir / "model.pt").string();
  torch::load(model, path);  // Python: model.load_state_dict(torch.load(path))
  const auto loaded = state_dict(*model);
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (loaded[i].value().sizes() != shapes[i]) {
      throw std::runtime_error(fmt::format(
          "{} holds '{}' with shape [{}], but the model expects [{}]: build the model with the "
          "options it was saved with",
          path, loaded[i].key(), fmt::join(loaded[i].value().sizes(), ", "),
          fmt::join(shapes[i], ", ")));
    }
  }
  torch::load(optimizer, (dir / "optimizer.pt").string());  // Python: optimizer.load_state_dict
}

const char* yes_no(bool value) {
  return value ? "yes" : "no";
}

// ==== main: build, look inside, initialise, train/eval, move, train, save and load ===============
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("03_modules", "Modules: build, inspect, initialise, train/eval, save/load");
    flags.add("--hidden", config.hidden, "Width of the hidden layers", {1, 4096});
    flags.add("--dropout", config.dropout, "Dropout probability in each block", {0.0, 0.99});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);
    // A fixed batch without a random stream (reference.py makes the same): x (B, F) from a sine
    // wave, targets (B) = 0, 1, 2, 0, 1, 2.
    const int64_t x_size = config.batch * config.in_features;
    const auto wave = torch::sin(torch::arange(x_size, torch::kFloat32) * 0.7);
    auto x = (wave * 2.0 + 1.0).reshape({config.batch, config.in_features});     // (B, F)
    auto targets = torch::arange(config.batch, torch::kInt64) % config.classes;  // (B)

    // ---- 1. Build the model: options -> TinyNet, a shared pointer to a TinyNetImpl ------------
    const auto model_options =
        course::TinyNetOptions(config.in_features, config.hidden, config.classes)
            .blocks(config.blocks)
            .dropout(config.dropout);
    course::TinyNet model(model_options);
    std::cout << "\n[1] the model (Python: print(model))\n" << *model << "\n";

    // ---- 2. Look inside: children, parameters, buffers ----------------------------------------
    fmt::print("\n[2] children: {} ({} modules in all, the model included)\n",
               fmt::join(model->named_children().keys(), " "), model->modules().size());
    const int64_t total = summary(*model, std::cout);
    fmt::print("  buffers (saved, not trained; Python: model.named_buffers()): {}\n",
               fmt::join(model->named_buffers().keys(), " "));

    // ---- 3. The containers: Sequential in a ModuleList, Linear heads in a ModuleDict ----------
    fmt::print("\n[3] blocks: a ModuleList of {} Sequential, each {} layers\n",
               model->blocks->size(), model->blocks->ptr<torch::nn::SequentialImpl>(0)->size());
    for (const auto& task : model->tasks()) {
      const auto out = predict(model, x, task);  // (B, C) or (B, 1)
      fmt::print("    heads[\"{}\"]: input [{}] -> output [{}]\n", task, fmt::join(x.sizes(), ", "),
                 fmt::join(out.sizes(), ", "));
    }

    // ---- 4. Initialise: apply() visits every module; fit() sets Standardize's buffers --------
    model->apply(init_weights);  // Python: model.apply(init_weights)
    const double bound = std::sqrt(6.0 / static_cast<double>(config.in_features + config.hidden));
    const double largest = model->stem->weight.abs().max().item<double>();
    fmt::print(
        "\n[4] after apply(init_weights): stem.weight max |w| {:.4f} <= Xavier bound {:.4f}: "
        "{}; stem.bias zero: {}\n",
        largest, bound, yes_no(largest <= bound),
        yes_no(model->stem->bias.eq(0).all().item<bool>()));
    model->input_norm->fit(x);
    const float* mean = model->input_norm->mean.data_ptr<float>();  // still on the CPU here
    const float* stddev = model->input_norm->stddev.data_ptr<float>();
    fmt::print("    input_norm.fit(x): mean [{:.4f}], std [{:.4f}]\n",
               fmt::join(mean, mean + config.in_features, ", "),
               fmt::join(stddev, stddev + config.in_features, ", "));

    // ---- 5. train() vs eval(): dropout and batch norm behave differently ----------------------
    // A submodule by its dotted name. Python: model.get_submodule("blocks.0.1")
    auto& norm = *model->named_modules()["blocks.0.1"]->as<torch::nn::BatchNorm1d>();
    auto running_mean = norm.running_mean.clone();
    model->train();  // Python: model.train()
    const bool train_differs = !model->forward(x, "classify").equal(model->forward(x, "classify"));
    fmt::print("\n[5] train(), dropout {}: two calls differ: {}; running_mean moved: {}\n",
               config.dropout, yes_no(train_differs),
               yes_no(!norm.running_mean.equal(running_mean)));
    running_mean = norm.running_mean.clone();
    const bool eval_repeats = predict(model, x, "classify").equal(predict(model, x, "classify"));
    fmt::print("    eval(): two calls equal: {}; running_mean moved: {}\n", yes_no(eval_repeats),
               yes_no(!norm.running_mean.equal(running_mean)));

    // ---- 6. Move to the device: parameters and buffers together -------------------------------
    model->to(lesson.device);  // Python: model.to(device)
    x = x.to(lesson.device);
    targets = targets.to(lesson.device);
    fmt::print("\n[6] after to({}): stem.weight on {}, input_norm.mean on {}\n",
               lesson.device.str(), model->stem->weight.device().str(),
               model->input_norm->mean.device().str());

    // ---- 7. An optimizer, made after to(device) so it holds the moved parameters ---------------
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
    const double first = train_step(model, optimizer, x, targets);
    const double second = train_step(model, optimizer, x, targets);
    fmt::print("\n[7] two Adam steps (lr {}): loss {:.4f} -> {:.4f}\n", config.lr, first, second);

    // ---- 8. Save, load into a fresh model and optimizer, and resume --------------------------
    save_checkpoint(model, optimizer, lesson.out_dir);
    fmt::print("\n[8] saved model.pt and optimizer.pt in {}\n", lesson.out_dir.string());
    course::TinyNet restored(model_options);  // new random weights, until loaded
    restored->to(lesson.device);
    torch::optim::Adam restored_optimizer(restored->parameters(),
                                          torch::optim::AdamOptions(1.0));  // lr: from the file
    load_checkpoint(restored, restored_optimizer, lesson.out_dir);
    const double difference = max_difference(*model, *restored);
    fmt::print("    loaded: max |difference| over parameters and buffers {}; lr read back {}\n",
               difference, restored_optimizer.param_groups()[0].options().get_lr());
    torch::manual_seed(options.seed);  // dropout draws masks: the same ones for both
    train_step(model, optimizer, x, targets);
    torch::manual_seed(options.seed);
    train_step(restored, restored_optimizer, x, targets);
    fmt::print("    one more step on both: max |difference| {}\n",
               max_difference(*model, *restored));

    // A model twice as wide: torch::load alone would take the file without a word (README).
    auto wider = model_options;
    course::TinyNet wide(wider.hidden(2 * config.hidden));
    torch::optim::Adam wide_optimizer(wide->parameters(), torch::optim::AdamOptions(1.0));
    try {
      load_checkpoint(wide, wide_optimizer, lesson.out_dir);
    } catch (const std::runtime_error& error) {
      fmt::print("    load_checkpoint into a hidden={} model: {}\n", wider.hidden(), error.what());
    }

    course::print_result("03_modules", {{"parameters", static_cast<double>(total)},
                                        {"modules", static_cast<double>(model->modules().size())},
                                        {"save_load_difference", difference}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
