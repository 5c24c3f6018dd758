// Lesson 03: modules. How a LibTorch model is built, looked into, initialised, switched between
// training and evaluation, moved to a device, and saved and loaded, next to the Python you know.
//
// Teaches: torch::nn::Module and TORCH_MODULE (the XImpl idiom with an options struct),
// register_parameter / register_buffer / register_module, named_parameters, named_buffers,
// named_children, the containers Sequential, ModuleList and ModuleDict, initialisation with
// torch::nn::init under NoGradGuard and Module::apply, train() vs eval() (dropout, batch norm),
// .to(device), and torch::save / torch::load of a model and of an optimizer.
// Leaves out on purpose: real data and a full training loop (later lessons), TorchScript, and
// a file format shared with Python (the tests move weights by name instead, see set_tensor).
// The modules live in modules.h / modules.cpp; this file is the story, in eight steps.
//
// Run: ./course run 03     (flags: --hidden 8 --dropout 0.5 --device auto --out DIR, see --help)
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "course/flags.h"
#include "course/lesson.h"
#include "modules.h"

namespace modules = course::modules;

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

struct Config {
  int64_t in_features = 4;  // features per input row
  int64_t hidden = 8;       // width of the hidden layers (--hidden)
  int64_t classes = 3;      // outputs of the "classify" head
  int64_t blocks = 2;       // residual blocks in the ModuleList
  double dropout = 0.5;     // dropout probability in each block (--dropout)
  int64_t batch = 6;        // rows in the demo batch
  double lr = 1e-2;         // Adam learning rate
};

/// A fixed batch, made without a random stream: x (B, F) from sin, targets (B) = 0, 1, 2, 0, ...
/// reference.py makes the same one.
std::pair<torch::Tensor, torch::Tensor> demo_batch(const Config& config) {
  const auto wave =
      torch::sin(torch::arange(config.batch * config.in_features, torch::kFloat32) * 0.7);
  const auto x = (wave * 2.0 + 1.0).reshape({config.batch, config.in_features});     // (B, F)
  const auto targets = torch::arange(config.batch, torch::kInt64) % config.classes;  // (B)
  return {x, targets};
}

std::string yes_no(bool value) {
  return value ? "yes" : "no";
}

/// "0.1234, -0.5000" for a 1-D float tensor.
std::string values(const torch::Tensor& tensor) {
  const auto cpu = tensor.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const std::vector<double> list(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
  return fmt::format("{:.4f}", fmt::join(list, ", "));
}

// ---------------------------------------------------------------------------------------------
// main: the story
// ---------------------------------------------------------------------------------------------

int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("03_modules", "Modules: build, inspect, initialise, train/eval, save/load");
    flags.app()
        .add_option("--hidden", config.hidden, "width of the hidden layers")
        ->check(CLI::Range(1, 4096));
    flags.app()
        .add_option("--dropout", config.dropout, "dropout probability in each block, in [0, 1)")
        ->check(CLI::Range(0.0, 0.99));
    flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);
    auto [x, targets] = demo_batch(config);

    // ---- 1. Build the model: options struct -> TinyNet (a shared pointer to TinyNetImpl) ----
    const auto options = modules::TinyNetOptions(config.in_features, config.hidden, config.classes)
                             .blocks(config.blocks)
                             .dropout(config.dropout);
    modules::TinyNet model(options);
    std::cout << "\n[1] the model (Python: print(model))\n" << *model << "\n";

    // ---- 2. Look inside: children, parameters, buffers ----
    std::cout << "\n[2] children:";
    for (const auto& child : model->named_children()) std::cout << " " << child.key();
    std::cout << "\n    all modules, the model included: " << model->modules().size() << "\n";
    std::cout << "    parameters (Python: model.named_parameters()):\n";
    const int64_t total = modules::summary(*model, std::cout);
    std::cout << "    buffers (Python: model.named_buffers()):";
    for (const auto& buffer : model->named_buffers()) std::cout << " " << buffer.key();
    std::cout << "\n";

    // ---- 3. The containers: Sequential in a ModuleList, Linear layers in a ModuleDict ----
    std::cout << "\n[3] blocks: a ModuleList of " << model->blocks->size() << " Sequential, each "
              << model->blocks->ptr<torch::nn::SequentialImpl>(0)->size() << " layers\n";
    model->eval();  // batch norm uses its running statistics: the output does not depend on B
    for (const auto& task : model->tasks()) {
      const auto out = model->forward(x, task);  // (B, C) or (B, 1)
      std::cout << fmt::format("    heads[\"{}\"]: input {} -> output [{}, {}]\n", task,
                               fmt::join(x.sizes(), "x"), out.size(0), out.size(1));
    }

    // ---- 4. Initialise: apply() visits every module; fit() sets the Standardize buffers ----
    model->apply(modules::init_weights);  // Python: model.apply(init_weights)
    const auto& stem_weight = model->stem->weight;
    const double xavier_bound =
        std::sqrt(6.0 / static_cast<double>(config.in_features + config.hidden));
    const double largest = stem_weight.abs().max().item<double>();
    std::cout << fmt::format(
        "\n[4] after apply(init_weights): stem.weight max |w| {:.4f} <= Xavier bound {:.4f}: {}\n",
        largest, xavier_bound, yes_no(largest <= xavier_bound));
    double bias_sum = 0.0;  // every bias, Linear, Affine and BatchNorm alike, should be zero
    for (const auto& item : model->named_parameters()) {
      const std::string& name = item.key();
      if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
        bias_sum += item.value().abs().sum().item<double>();
      }
    }
    std::cout << "    every bias is zero: " << yes_no(bias_sum == 0.0)
              << "; parameters still require grad: "
              << yes_no(stem_weight.requires_grad() && stem_weight.is_leaf()) << "\n";
    model->input_norm->fit(x);
    std::cout << "    input_norm.fit(x): mean [" << values(model->input_norm->mean) << "], std ["
              << values(model->input_norm->stddev) << "]\n";

    // ---- 5. train() vs eval(): dropout and batch norm behave differently ----
    // A submodule by its dotted name, Python: model.get_submodule("blocks.0.1")
    auto& norm = *model->named_modules()["blocks.0.1"]->as<torch::nn::BatchNorm1d>();
    const auto running_before = norm.running_mean.clone();
    model->train();  // Python: model.train()
    const auto train_a = model->forward(x, "classify");
    const auto train_b = model->forward(x, "classify");
    const auto running_after_train = norm.running_mean.clone();
    model->eval();  // Python: model.eval()
    const auto eval_a = model->forward(x, "classify");
    const auto eval_b = model->forward(x, "classify");
    std::cout << fmt::format(
        "\n[5] train(): dropout {} gives two different outputs: {} (max |a - b| {:.4f})\n",
        config.dropout, yes_no(!train_a.equal(train_b)),
        (train_a - train_b).abs().max().item<double>());
    std::cout << fmt::format("    eval(): the same output twice: {} (max |a - b| {})\n",
                             yes_no(eval_a.equal(eval_b)),
                             (eval_a - eval_b).abs().max().item<double>());
    std::cout << fmt::format("    blocks.0.1.running_mean moved in train(): {}; in eval(): {}\n",
                             yes_no(!running_after_train.equal(running_before)),
                             yes_no(!norm.running_mean.equal(running_after_train)));

    // ---- 6. Move to the device: parameters and buffers together ----
    model->to(lesson.device);  // Python: model.to(device)
    x = x.to(lesson.device);
    targets = targets.to(lesson.device);
    std::cout << "\n[6] after to(" << lesson.device << "): stem.weight on "
              << model->stem->weight.device() << ", input_norm.mean on "
              << model->input_norm->mean.device() << "\n";

    // ---- 7. An optimizer, made after to(device) so it holds the moved parameters ----
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
    model->train();
    const double loss_first = modules::train_step(model, optimizer, x, targets);
    const double loss_second = modules::train_step(model, optimizer, x, targets);
    std::cout << fmt::format("\n[7] two Adam steps (lr {}): loss {:.4f} -> {:.4f}\n", config.lr,
                             loss_first, loss_second);

    // ---- 8. Save and load the model and the optimizer ----
    const auto model_path = lesson.out_dir / "model.pt";
    const auto optimizer_path = lesson.out_dir / "optimizer.pt";
    torch::save(model, model_path.string());          // Python: torch.save(model.state_dict(), p)
    torch::save(optimizer, optimizer_path.string());  // Python: torch.save(opt.state_dict(), p)
    std::cout << "\n[8] saved " << model_path.string() << " ("
              << std::filesystem::file_size(model_path) << " bytes) and "
              << optimizer_path.filename().string() << " ("
              << std::filesystem::file_size(optimizer_path) << " bytes)\n";

    modules::TinyNet restored(options);  // a fresh model: new random weights
    restored->to(lesson.device);
    torch::load(restored, model_path.string());  // Python: model.load_state_dict(torch.load(p))
    // The optimizer must be built on the restored model's parameters; lr=1 is overwritten by load.
    torch::optim::Adam restored_optimizer(restored->parameters(), torch::optim::AdamOptions(1.0));
    torch::load(restored_optimizer, optimizer_path.string());

    model->eval();
    restored->eval();
    const double model_difference = modules::max_state_difference(*model, *restored);
    std::cout << fmt::format(
        "    model: max |difference| over parameters and buffers {}; eval outputs equal: {}\n",
        model_difference,
        yes_no(model->forward(x, "classify").equal(restored->forward(x, "classify"))));
    const auto& restored_lr =
        static_cast<torch::optim::AdamOptions&>(restored_optimizer.param_groups()[0].options());
    std::cout << fmt::format("    optimizer: Adam state equal: {}; lr read back {}\n",
                             yes_no(modules::adam_states_equal(optimizer, restored_optimizer)),
                             restored_lr.lr());

    // Resuming must give the very same next step. Dropout draws random masks: seed both alike.
    model->train();
    restored->train();
    torch::manual_seed(flags.options().seed);
    modules::train_step(model, optimizer, x, targets);
    torch::manual_seed(flags.options().seed);
    modules::train_step(restored, restored_optimizer, x, targets);
    std::cout << fmt::format("    one more step on both: max |difference| {}\n",
                             modules::max_state_difference(*model, *restored));
    // torch::load does not check shapes (Python's load_state_dict does): it swaps in the saved
    // tensors. A model built with other options "loads" without an error; load_checked() stops.
    auto wider = options;
    wider.hidden(2 * config.hidden);
    modules::TinyNet wide(wider);
    torch::load(wide, model_path.string());
    std::cout << "    torch::load into a hidden=" << wider.hidden()
              << " model: no error, and its stem.weight is now " << wide->stem->weight.sizes()
              << "\n";
    try {
      modules::TinyNet checked(wider);
      modules::load_checked(*checked, model_path.string());
    } catch (const std::exception& error) {
      std::cout << "    load_checked: " << error.what() << "\n";
    }
    std::cout
        << "    note: these are TorchScript-format archives, not Python state_dicts: Python's\n"
           "    torch.load refuses them. torch.jit.load(p).state_dict() reads model.pt by\n"
           "    name; optimizer.pt has no Python reader (resume where you saved).\n";
    std::cout << fmt::format("\nRESULT parameters={} modules={} save_load_difference={}\n", total,
                             model->modules().size(), model_difference);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
