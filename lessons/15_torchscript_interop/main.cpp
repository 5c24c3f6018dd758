// 15_torchscript_interop: models and weights across the border between Python and C++.
//
// What it teaches:
//   - torch::jit::load: a model Python saved with torch.jit.script or torch.jit.trace, run from
//     C++; what tracing loses (an `if` on the data) and scripting keeps
//   - weights both ways without TorchScript: Python's torch.save(state_dict) read with
//     torch::pickle_load, C++'s written with torch::pickle_save for Python's torch.load; names
//     and shapes checked, batch-norm statistics (buffers) included
//   - transfer learning: a backbone trained in Python on classes 0-4, frozen, a new head trained
//     in C++ on a few hundred images of classes 5-9; then everything, with a smaller learning rate
// What it leaves out on purpose: torch.export and AOTInductor, the way forward now that
// TorchScript is deprecated (PyTorch 2.11; lesson 16), and custom TorchScript operators.
// The build runs the Python half, export.py: it trains the backbone and writes the .pt files into
// build/<preset>/exported/15_torchscript_interop.
//
// Run:  ./course run 15               (500 images of classes 5-9, 10 epochs per stage, seconds)
//       ./course run 15 -- --smoke    (the first 512 images of each split)
#include <fmt/format.h>
#include <torch/script.h>  // torch::jit::load

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "08_cnn/cnn.h"
#include "course/data.h"
#include "course/fashion_mnist.h"
#include "course/files.h"
#include "course/lesson.h"
#include "course/timer.h"

namespace fs = std::filesystem;
// Dimension legend: N = images in a split, B = images in a batch, 5 classes per task.

// ==== Configuration ==============================================================================
struct Config {
  std::string models = course::exported_dir("15_torchscript_interop");  // export.py's .pt files
  int64_t train_images = 500;  // training images of classes 5-9 ("a few hundred")
  double head_lr = 1e-2;       // stage 1: Adam on the new head only
  double full_lr = 1e-4;       // stage 2: Adam on every weight, in smaller steps
  int64_t batch_size = 50;     // images per step
};
constexpr int kEpochs = 10;           // default --epochs, of each fine-tuning stage
constexpr int64_t kShown = 1000;      // test images of classes 0-4 given to the TorchScript
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating

// ==== Files that Python made =====================================================================
fs::path require_file(const fs::path& path) {
  if (!fs::is_regular_file(path))
    throw std::runtime_error(fmt::format(
        "{} not found. export.py makes it: ./course build 15, or python "
        "lessons/15_torchscript_interop/export.py --out {} (and pass that folder with --models)",
        path.string(), path.parent_path().string()));
  return path;
}

// ==== 1. TorchScript: a module Python saved, loaded and run by C++ ===============================
// Python: module = torch.jit.load(path); module.eval()
torch::jit::Module load_torchscript(const fs::path& path, torch::Device device) {
  auto module = torch::jit::load(require_file(path).string(), device);
  module.eval();
  return module;
}

// pixels (B, 1, 28, 28) in [0, 1] -> logits (B, 5). forward takes a list of IValues (any type
// TorchScript knows) and returns one; this module returns a tensor.
torch::Tensor run(torch::jit::Module& module, const torch::Tensor& pixels) {
  torch::NoGradGuard no_grad;
  return module.forward({pixels}).toTensor();  // Python: module(pixels)
}

// ==== 2. Weights both ways: a state_dict, the dict Python's torch.save writes ====================
using StateDict = c10::Dict<std::string, torch::Tensor>;  // Python: dict[str, Tensor]

// Every parameter and buffer (batch norm's running_mean, running_var, num_batches_tracked) by its
// dotted name, in the order of Python's state_dict(): module by module, parameters then buffers.
// register_module("conv1", ...) in C++ and self.conv1 in Python give the same name, conv1.weight.
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(const torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& module : model.named_modules()) {  // "" (the model), "conv1", "bn1", ...
    const std::string prefix = module.key().empty() ? "" : module.key() + ".";
    for (const auto& item : module.value()->named_parameters(/*recurse=*/false))
      tensors.emplace_back(prefix + item.key(), item.value());
    for (const auto& item : module.value()->named_buffers(/*recurse=*/false))
      tensors.emplace_back(prefix + item.key(), item.value());
  }
  return tensors;
}

// Writes a dict of tensors that Python's torch.load(path) reads. The dict carries its type,
// Dict[str, Tensor], through torch.jit._pickle.restore_type_tag, a function torch.load's
// weights_only mode (the default since 2.6) refuses unless allowed: see README.md.
void save_state_dict(const torch::nn::Module& model, const fs::path& path) {
  StateDict state;
  for (const auto& [name, tensor] : named_tensors(model)) state.insert(name, tensor.detach().cpu());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(state));
  course::write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
}

// Reads what Python's torch.save(dict(model.state_dict()), path) wrote: a plain dict. (pickle_load
// cannot read the OrderedDict that state_dict() returns.) Python: torch.load(path)
StateDict read_state_dict(const fs::path& path) {
  const std::string bytes = course::read_file(require_file(path));
  const c10::IValue value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  TORCH_CHECK(value.isGenericDict(), path.string(), " holds a ", value.tagKind(),
              ", not a dict; save one in Python with torch.save(dict(model.state_dict()), path)");
  StateDict state;
  for (const auto& entry : value.toGenericDict()) {
    TORCH_CHECK(entry.key().isString() && entry.value().isTensor(), path.string(),
                ": every entry must be a name and a tensor, as in a state_dict");
    state.insert(entry.key().toStringRef(), entry.value().toTensor());
  }
  return state;
}

// Copies `state` into the model, as Python's model.load_state_dict(state) (strict) does: every
// name the model has must be there, with the model's shape, and no other name may be.
void load_state_dict(torch::nn::Module& model, const StateDict& state, const std::string& source) {
  torch::NoGradGuard no_grad;  // copy_ into a parameter is not a step autograd should record
  const auto tensors = named_tensors(model);
  for (const auto& [name, tensor] : tensors) {
    TORCH_CHECK(state.contains(name), source, " has no '", name,
                "', which the model needs: was it saved from another model?");
    const torch::Tensor value = state.at(name);
    TORCH_CHECK(value.sizes() == tensor.sizes(), source, ": '", name, "' has shape ", value.sizes(),
                " but the model's is ", tensor.sizes());
    tensor.copy_(value);  // to the model's device and dtype
  }
  for (const auto& entry : state) {
    const bool known = std::any_of(tensors.begin(), tensors.end(),
                                   [&](const auto& item) { return item.first == entry.key(); });
    TORCH_CHECK(known, source, " has '", entry.key(), "', which the model does not have");
  }
}

// ==== 3. Transfer learning: freeze the backbone, train a new head, then everything ===============
bool in_head(const std::string& name) {
  return name.rfind("head.", 0) == 0;
}

// A frozen parameter gets no gradient, so no optimizer moves it. Python: p.requires_grad_(False)
void freeze_backbone(course::Cnn& model, bool frozen) {
  for (auto& item : model->named_parameters())
    if (!in_head(item.key())) item.value().set_requires_grad(!frozen);
}

// train() for the parts being trained. A frozen batch norm stays in eval(): in train() it would
// still update its running statistics, and the "frozen" backbone would change.
void train_mode(course::Cnn& model) {
  model->train();
  for (auto bn : {model->bn1, model->bn2})
    if (!bn->weight.requires_grad()) bn->eval();
}

// A new head for a new task: Python `model.head = nn.Linear(hidden, classes)`. replace_module
// registers it under the old name, so "head.weight" stays its name in the state_dict.
void replace_head(course::Cnn& model, int64_t classes) {
  torch::nn::Linear head(model->options.hidden(), classes);  // random, as every new Linear
  head->to(model->fc->weight.device());
  model->head = model->replace_module("head", head);
}

// Stage 1 (frozen): Adam over the new head only, at head_lr. Stage 2: every weight trainable
// again, Adam over all of them at the smaller full_lr, so the backbone moves only a little.
torch::optim::Adam stage_optimizer(course::Cnn& model, bool frozen, const Config& config) {
  freeze_backbone(model, frozen);
  return torch::optim::Adam(frozen ? model->head->parameters() : model->parameters(),
                            torch::optim::AdamOptions(frozen ? config.head_lr : config.full_lr));
}

// The four lines every training step has (lesson 08). Returns the batch's loss ().
torch::Tensor train_step(course::Cnn& model, torch::optim::Optimizer& optimizer,
                         const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();
  const auto loss = torch::nn::functional::cross_entropy(model->forward(images), labels);
  loss.backward();
  optimizer.step();
  return loss.detach();
}

// One pass over x (N, 1, 28, 28) in shuffled batches; the mean loss.
double train_epoch(course::Cnn& model, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                   const torch::Tensor& y, int64_t batch_size) {
  train_mode(model);
  const auto order = torch::randperm(x.size(0), torch::kInt64).to(x.device());  // (N,)
  auto loss_sum = torch::zeros({}, x.options());
  for (int64_t start = 0; start < x.size(0); start += batch_size) {
    const auto index = order.slice(0, start, start + batch_size);
    loss_sum += train_step(model, optimizer, x.index_select(0, index), y.index_select(0, index)) *
                index.size(0);
  }
  return loss_sum.item<double>() / static_cast<double>(x.size(0));
}

double accuracy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(/*dim=*/1).eq(labels).to(torch::kFloat64).mean().item<double>();
}

torch::Tensor predict(course::Cnn& model, const torch::Tensor& x) {  // logits (N, 5), eval()
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<torch::Tensor> logits;
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch)
    logits.push_back(model->forward(x.slice(0, start, start + kEvalBatch)));
  model->train();
  return torch::cat(logits);
}

// ==== Data: the images of five classes ===========================================================
struct Task {
  torch::Tensor images;  // (N, 28, 28) uint8
  torch::Tensor labels;  // (N,) int64, 0..4: class `first` is 0
};

// The images of classes first..first+4, at most `limit` of them (0: all), labels shifted to 0..4.
Task select_classes(const course::FashionMnist& split, int64_t first, int64_t limit) {
  auto index = split.labels.ge(first).logical_and(split.labels.lt(first + 5)).nonzero().flatten();
  if (limit > 0) index = index.slice(0, 0, limit);
  return {split.images.index_select(0, index), split.labels.index_select(0, index) - first};
}

// uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1]: what the TorchScript classifier takes (it
// normalises them itself, as deployed models often do).
torch::Tensor to_pixels(const torch::Tensor& images) {
  return images.to(torch::kFloat32).div(255).unsqueeze(1);
}

// ==== main: TorchScript, weights from Python, fine-tuning, weights to Python =====================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("15_torchscript_interop",
                        "Python's models and weights in C++: TorchScript, state_dicts, transfer",
                        defaults);
    flags.add("--models", config.models, "Folder of export.py's .pt files");
    flags.add("--train-images", config.train_images, "Images of classes 5-9 to fine-tune on",
              {10, 30000});
    flags.add("--head-lr", config.head_lr, "Adam's learning rate for the new head", {1e-6, 1.0});
    flags.add("--full-lr", config.full_lr, "Adam's learning rate for everything", {1e-7, 1.0});
    flags.add("--batch-size", config.batch_size, "Images per step", {1, 30000});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);
    const fs::path models(config.models);
    const auto train = course::load_fashion_mnist(options, /*train=*/true);
    const auto test = course::load_fashion_mnist(options, /*train=*/false);

    // ---- 1. TorchScript: Python's classifier (classes 0-4), scripted and traced -----------------
    auto scripted = load_torchscript(models / "classifier_scripted.pt", lesson.device);
    auto traced = load_torchscript(models / "classifier_traced.pt", lesson.device);
    const Task seen = select_classes(test, /*first=*/0, kShown);
    const auto pixels = to_pixels(seen.images).to(lesson.device);  // (N, 1, 28, 28) in [0, 1]
    const auto labels = seen.labels.to(lesson.device);
    const auto script_logits = run(scripted, pixels);  // (N, 5)
    const auto trace_logits = run(traced, pixels);     // (N, 5)
    fmt::print(
        "torchscript: {} test images of classes 0-4 | scripted acc {:.4f} | traced acc "
        "{:.4f} | largest difference {:.1e}\n",
        pixels.size(0), accuracy(script_logits, labels), accuracy(trace_logits, labels),
        (trace_logits - script_logits).abs().max().item<double>());
    const auto first = script_logits[0].cpu();  // (5,)
    fmt::print("torchscript: logits of the first image [{:.4f}]\n",
               fmt::join(first.data_ptr<float>(), first.data_ptr<float>() + first.numel(), ", "));
    // Negatives (dark clothes on white): the scripted `if` inverts them back; the trace was
    // recorded on ordinary images and has no `if` at all.
    const auto negatives = 1 - pixels;
    fmt::print(
        "torchscript: the same images as negatives | scripted acc {:.4f} | traced acc "
        "{:.4f} (the trace lost the `if`)\n",
        accuracy(run(scripted, negatives), labels), accuracy(run(traced, negatives), labels));

    // ---- 2. Weights from Python: backbone.pt, a state_dict, into lesson 08's C++ Cnn ------------
    course::Cnn model(course::CnnOptions().classes(5));
    model->to(lesson.device);
    const StateDict backbone = read_state_dict(models / "backbone.pt");
    load_state_dict(*model, backbone, "backbone.pt");
    const auto cnn_logits =
        predict(model, course::normalize_fashion(seen.images).to(lesson.device));
    fmt::print(
        "weights: {} tensors from backbone.pt (torch.save in Python) | the C++ Cnn and the "
        "scripted module differ by at most {:.1e}\n",
        backbone.size(), (cnn_logits - script_logits).abs().max().item<double>());

    // ---- 3. Transfer: a new head for classes 5-9, trained on a few hundred images ---------------
    const Task task_train = select_classes(train, /*first=*/5, config.train_images);
    const Task task_test = select_classes(test, /*first=*/5, /*limit=*/0);
    const auto x = course::normalize_fashion(task_train.images).to(lesson.device);
    const auto y = task_train.labels.to(lesson.device);
    const auto x_test = course::normalize_fashion(task_test.images).to(lesson.device);
    const auto y_test = task_test.labels.to(lesson.device);
    fmt::print("data: {} train, {} test images of classes 5-9 (Sandal ... Ankle boot)\n", x.size(0),
               x_test.size(0));
    replace_head(model, /*classes=*/5);  // classes 5-9 as 0..4
    fmt::print("new head:        test acc {:.4f} (chance: 0.2)\n",
               accuracy(predict(model, x_test), y_test));

    double acc = 0, train_seconds = 0;
    for (const bool frozen : {true, false}) {  // stage 1: the head only; stage 2: everything
      auto optimizer = stage_optimizer(model, frozen, config);
      const auto& group = optimizer.param_groups()[0];
      fmt::print("stage {}: Adam over {} of {} parameter tensors, lr {}\n", frozen ? 1 : 2,
                 group.params().size(), model->parameters().size(), group.options().get_lr());
      for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        course::Stopwatch clock;
        const double loss = train_epoch(model, optimizer, x, y, config.batch_size);
        train_seconds += clock.seconds();
        course::stop_if_diverged(loss, epoch, frozen ? config.head_lr : config.full_lr);
        acc = accuracy(predict(model, x_test), y_test);
        fmt::print("{} epoch {:2}/{} | train loss {:.4f} | test acc {:.4f}\n",
                   frozen ? "frozen backbone" : "everything     ", epoch, options.epochs, loss,
                   acc);
        std::fflush(stdout);
      }
    }

    // ---- 4. Weights to Python: the fine-tuned model as a state_dict -----------------------------
    save_state_dict(*model, lesson.out_dir / "finetuned.pt");
    fmt::print("wrote finetuned.pt in {}: reference.py --evaluate FILE reads it into Python\n",
               lesson.out_dir.string());
    const double epochs = 2.0 * options.epochs;
    course::print_result("15_torchscript_interop",
                         {{"epochs", epochs},
                          {"epoch_time_s", train_seconds / epochs},
                          {"train_samples_per_s", epochs * x.size(0) / train_seconds},
                          {"test_acc", acc}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
