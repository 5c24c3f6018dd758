// 10_rnn: recurrent networks on real text of different lengths: which of Debian's fortune
// collections (art, computers, cookie, definitions, men-women) does a quotation come from?
//
// What it teaches:
//   - characters (code points) as tokens: a vocabulary from the training texts, <pad> 0, <unk> 1
//   - texts of different lengths in one batch: padded to (B, T) with their lengths kept, then
//     packed (pack_padded_sequence), so that the network never reads the padding
//   - one LSTM cell written out (four gates from one matmul), equal to torch::nn::LSTMCell
//   - nn::RNN, nn::LSTM and nn::GRU behind one flag, bidirectional and stacked; a text's final
//     hidden states as its summary; a bag-of-characters baseline first, and a table at the end
//     with what reading the characters in order is worth, and what it costs
// Left out on purpose: words and pretrained embeddings, attention, generating text (lesson 11), a
// validation split (lesson 07: here the test set is only reported, never used to choose).
// The two models, with the packing, are in text_models.h; fortune_texts.h reads the collections.
// (About 290 lines: four models, the cell by hand and packing shown on real data are one story.)
//
// Run:  ./course run 10                 (the baseline, then RNN, LSTM and GRU: minutes on 2 cores)
//       ./course run 10 -- --cell gru   (the baseline and one recurrent model)
//       ./course run 10 -- --smoke      (512 texts cut to 64 characters, seconds)
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "course/lesson.h"
#include "course/schedule.h"
#include "course/timer.h"
#include "fortune_texts.h"  // load_texts: the collections as balanced train and test texts
#include "text_models.h"    // BagOfCharacters (the baseline) and TextRnn (RNN, LSTM or GRU)

namespace nn = torch::nn;
using torch::Tensor;
// Dimension legend: N = texts in a split, B = texts in a batch, T = characters of the longest text
// in the batch, E = embedding width, H = hidden width, V = vocabulary size.

// ==== Configuration ==============================================================================
struct Config {
  std::string collections = "art,computers,cookie,definitions,men-women";  // the classes
  int64_t max_chars = 128;    // each text is cut to its first 128 characters (--smoke: 64)
  double test_share = 0.2;    // of each collection's texts, for the test set
  std::string cell = "all";   // rnn, lstm, gru, or all three one after the other
  TextRnnOptions model;       // E 64, H 64 per direction, 1 layer, bidirectional, dropout 0.3
  double lr = 3e-3;           // Adam's peak learning rate, cosine decay to 0
  double clip = 1.0;          // the gradient's norm is cut to this: long sequences can explode
  int64_t batch_size = 32;    // texts per step
  int baseline_epochs = 40;   // the bag of characters needs milliseconds per epoch
  double baseline_lr = 0.05;  // and takes larger steps
};

// ==== Data: texts -> characters -> token numbers -> a padded tensor ==============================
struct Split {
  Tensor tokens;   // (N, T) int64 padded with kPad, on the training device
  Tensor lengths;  // (N,) int64 on the CPU: pack_padded_sequence wants them there
  Tensor labels;   // (N,) int64, on the training device
};

// Every character of the training texts, in code point order, numbered after <pad> and <unk>.
// Python: {c: i + 2 for i, c in enumerate(sorted(set("".join(train_texts))))}
std::map<char32_t, int64_t> build_vocabulary(const std::vector<Text>& train) {
  std::map<char32_t, int64_t> vocabulary;
  for (const auto& text : train)
    for (const char32_t c : text.chars) vocabulary[c] = 0;
  int64_t next = kUnk + 1;
  for (auto& entry : vocabulary) entry.second = next++;  // a std::map walks in key order
  return vocabulary;
}

// One text -> (length,) token numbers; characters never seen in training become kUnk.
Tensor encode(const std::u32string& chars, const std::map<char32_t, int64_t>& vocabulary) {
  std::vector<int64_t> tokens;
  for (const char32_t c : chars) tokens.push_back(vocabulary.count(c) ? vocabulary.at(c) : kUnk);
  return torch::tensor(tokens, torch::kInt64);
}

// Texts of different lengths -> (N, T) tokens padded with kPad, their lengths and labels.
Split make_split(const std::vector<Text>& texts, const std::map<char32_t, int64_t>& vocabulary,
                 torch::Device device) {
  std::vector<Tensor> sequences;
  std::vector<int64_t> lengths, labels;
  for (const auto& text : texts) {
    sequences.push_back(encode(text.chars, vocabulary));
    lengths.push_back(static_cast<int64_t>(text.chars.size()));
    labels.push_back(text.label);
  }
  // Python: pad_sequence(sequences, batch_first=True, padding_value=0)
  const auto tokens = nn::utils::rnn::pad_sequence(sequences, /*batch_first=*/true, kPad);
  return {tokens.to(device), torch::tensor(lengths), torch::tensor(labels).to(device)};
}

// The texts at `index` (CPU), padded only to the longest of them: tokens (B, T).
Split take(const Split& split, const Tensor& index) {
  const auto lengths = split.lengths.index_select(0, index);
  const auto rows = index.to(split.tokens.device());
  return {split.tokens.index_select(0, rows).slice(1, 0, lengths.max().item<int64_t>()), lengths,
          split.labels.index_select(0, rows)};
}

// ==== One LSTM step by hand, with nn::LSTMCell's weights =========================================
// weight_ih (4H, I), weight_hh (4H, H), bias_ih and bias_hh (4H,): the rows of the four gates are
// stacked in the order i, f, g, o, so that one matmul computes all four.
std::tuple<Tensor, Tensor> lstm_cell_by_hand(const Tensor& x, const Tensor& h, const Tensor& c,
                                             const nn::LSTMCellImpl& cell) {
  const auto weight = torch::cat({cell.weight_ih, cell.weight_hh}, /*dim=*/1);  // (4H, I + H)
  const auto gates =
      torch::cat({x, h}, /*dim=*/1).matmul(weight.t()) + cell.bias_ih + cell.bias_hh;  // (B, 4H)
  const auto chunks = gates.chunk(4, /*dim=*/1);       // Python: i, f, g, o = gates.chunk(4, 1)
  const auto input_gate = torch::sigmoid(chunks[0]);   // how much of the candidate to write
  const auto forget_gate = torch::sigmoid(chunks[1]);  // how much of the old memory to keep
  const auto candidate = torch::tanh(chunks[2]);       // what to write
  const auto output_gate = torch::sigmoid(chunks[3]);  // how much of the memory to show
  const auto c_next = forget_gate * c + input_gate * candidate;  // (B, H): the memory
  const auto h_next = output_gate * torch::tanh(c_next);         // (B, H): the output
  return {h_next, c_next};
}

// ==== Training and evaluation: the same for the baseline and the recurrent models ================
struct StepResult {
  Tensor loss;    // () before the step; no .item() here: reading a number waits for the device
  Tensor logits;  // (B, classes)
};

template <typename Model>
StepResult train_step(Model& model, torch::optim::Optimizer& optimizer, const Split& batch,
                      double clip) {
  optimizer.zero_grad();
  const auto logits = model->forward(batch.tokens, batch.lengths);  // (B, classes)
  const auto loss = nn::functional::cross_entropy(logits, batch.labels);
  loss.backward();
  nn::utils::clip_grad_norm_(model->parameters(), clip);  // Python: clip_grad_norm_(params, clip)
  optimizer.step();
  return {loss.detach(), logits.detach()};
}

// The share of a split's texts whose largest logit is their label: the whole split in one batch.
template <typename Model>
double evaluate(Model& model, const Split& split) {
  torch::NoGradGuard no_grad;
  model->eval();                                                                 // dropout off
  const auto predicted = model->forward(split.tokens, split.lengths).argmax(1);  // (N,)
  model->train();
  return predicted.eq(split.labels).sum().template item<double>() / split.labels.size(0);
}

struct Trained {  // a row of the table at the end
  std::string name;
  int64_t parameters = 0;
  double test_accuracy = 0, seconds = 0;  // seconds: the training steps only
};

// Epochs of shuffled batches with Adam and a cosine learning rate; a line every log_every epochs.
template <typename Model>
Trained train(Model& model, const std::string& name, const Split& train_split,
              const Split& test_split, int epochs, double lr, const Config& config, int log_every) {
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(lr));
  const int64_t n = train_split.labels.size(0), batch = config.batch_size;
  const int64_t steps = (n + batch - 1) / batch;
  Trained result{name, course::parameter_count(*model)};
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    course::Stopwatch clock;
    const auto order = torch::randperm(n, torch::kInt64);  // (N,) on the CPU
    auto loss_sum = torch::zeros({}, train_split.labels.device());
    auto correct = torch::zeros({}, train_split.labels.device());
    for (int64_t step = 0; step < steps; ++step) {
      course::set_lr(optimizer, course::cosine_lr(lr, (epoch - 1) * steps + step, epochs * steps));
      const auto texts = take(train_split, order.slice(0, step * batch, (step + 1) * batch));
      const auto out = train_step(model, optimizer, texts, config.clip);
      loss_sum += out.loss * texts.labels.size(0);
      correct += out.logits.argmax(1).eq(texts.labels).sum();
    }
    const double loss = loss_sum.item<double>() / n;  // read once an epoch
    result.seconds += clock.seconds();
    if (!std::isfinite(loss))
      throw std::runtime_error(
          fmt::format("{}: the loss became {} in epoch {}; lower the learning rate (now {})", name,
                      loss, epoch, lr));
    if (epoch % log_every == 0 || epoch == epochs) {
      result.test_accuracy = evaluate(model, test_split);
      fmt::print("{:<8} epoch {:2}/{} | train loss {:.4f} acc {:.4f} | test acc {:.4f} | {:.1f}s\n",
                 name, epoch, epochs, loss, correct.item<double>() / n, result.test_accuracy,
                 result.seconds);
      std::fflush(stdout);
    }
  }
  return result;
}

// ==== main: data, the cell by hand, packing, the baseline, the recurrent models, the table =======
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = 8;
    course::Flags flags("10_rnn", "RNN, LSTM and GRU tell fortune collections apart", defaults);
    flags.add("--collections", config.collections, "Fortune collections to tell apart, a,b,...");
    flags.add("--cell", config.cell, "Recurrent model(s) to train", {"rnn", "lstm", "gru", "all"});
    flags.add("--max-chars", config.max_chars, "Characters kept of each text", {1, 100000});
    flags.add("--hidden", config.model.hidden(), "Hidden width per direction", {1, 4096});
    flags.add("--layers", config.model.layers(), "Stacked recurrent layers", {1, 8});
    flags.add_switch("--no-bidirectional", config.model.bidirectional(), "Left to right only");
    flags.add("--lr", config.lr, "Adam's peak learning rate", {1e-6, 1.0});
    flags.add("--batch-size", config.batch_size, "Texts per step", {1, 100000});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data: texts, the vocabulary, the padded splits --------------------------------------
    const auto [train_texts, test_texts] =
        load_texts(options, config.collections, config.test_share, config.max_chars);
    const auto vocabulary = build_vocabulary(train_texts);
    const auto train_split = make_split(train_texts, vocabulary, lesson.device);
    const auto test_split = make_split(test_texts, vocabulary, lesson.device);
    const int64_t classes =
        std::count(config.collections.begin(), config.collections.end(), ',') + 1;
    const auto vocabulary_size = static_cast<int64_t>(vocabulary.size()) + 2;  // and <pad>, <unk>
    fmt::print(
        "data: {} collections, {} train and {} test texts of {:.1f} characters on average\n"
        "vocabulary: {} tokens, <pad> and <unk> and the {} characters seen in training\n",
        classes, train_texts.size(), test_texts.size(),
        train_split.lengths.to(torch::kFloat64).mean().item<double>(), vocabulary_size,
        vocabulary.size());

    // ---- 2. One LSTM cell by hand, against torch::nn::LSTMCell ---------------------------------
    const int64_t embedding = config.model.embedding(), hidden = config.model.hidden();
    nn::LSTMCell cell(/*input_size=*/embedding, /*hidden_size=*/hidden);
    const auto x = torch::randn({4, embedding});  // (B, E): one character of 4 texts
    const auto h = torch::randn({4, hidden}), c = torch::randn({4, hidden});
    const auto [h_hand, c_hand] = lstm_cell_by_hand(x, h, c, *cell);
    const auto [h_torch, c_torch] = cell->forward(x, std::make_tuple(h, c));
    fmt::print("LSTM cell by hand vs nn::LSTMCell: largest difference {:.1e} in h, {:.1e} in c\n",
               (h_hand - h_torch).abs().max().item<double>(),
               (c_hand - c_torch).abs().max().item<double>());

    // ---- 3. Padding and packing, on four test texts: the shortest, two between, the longest ----
    const int64_t n = test_split.lengths.size(0);
    const auto picked = torch::tensor({int64_t{0}, n / 3, 2 * n / 3, n - 1});  // in length order
    const auto four = take(test_split, test_split.lengths.argsort().index_select(0, picked));
    const auto packed = nn::utils::rnn::pack_padded_sequence(
        four.tokens.cpu(), four.lengths, /*batch_first=*/true, /*enforce_sorted=*/false);
    const auto going = packed.batch_sizes();  // (T,): how many texts are still going at each step
    fmt::print(
        "lengths {} padded to {}: packed into {} tokens, {} texts at step 1, {} at step {}\n",
        c10::IntArrayRef(four.lengths.data_ptr<int64_t>(), 4), four.tokens.sizes(),
        packed.data().size(0), going[0].item<int64_t>(), going[-1].item<int64_t>(), going.size(0));
    TextRnn stacked(TextRnnOptions().vocabulary(vocabulary_size).classes(classes).layers(2));
    stacked->to(lesson.device);
    const auto h_n = stacked->final_states(four.tokens, four.lengths);
    fmt::print("2-layer bidirectional LSTM: h_n {} -> last layer, both directions {}\n",
               h_n.sizes(), last_layer(h_n, /*directions=*/2).sizes());

    // ---- 4. The baseline, then the recurrent models --------------------------------------------
    BagOfCharacters baseline(vocabulary_size, classes);
    baseline->to(lesson.device);
    std::vector<Trained> rows = {train(baseline, "baseline", train_split, test_split,
                                       config.baseline_epochs, config.baseline_lr, config, 10)};
    const auto cells = config.cell == "all" ? std::vector<std::string>{"rnn", "lstm", "gru"}
                                            : std::vector<std::string>{config.cell};
    for (const auto& name : cells) {
      TextRnn model(
          TextRnnOptions(config.model).cell(name).vocabulary(vocabulary_size).classes(classes));
      model->to(lesson.device);
      const auto& o = model->options;
      fmt::print("model: {} {} layer{}{}, H {}, {} parameters\n", name, o.layers(),
                 o.layers() > 1 ? "s" : "", o.bidirectional() ? ", bidirectional" : "", o.hidden(),
                 course::parameter_count(*model));
      rows.push_back(train(model, name, train_split, test_split, options.epochs, config.lr, config,
                           /*log_every=*/1));
    }

    // ---- 5. Side by side, and the RESULT line -------------------------------------------------
    fmt::print("{:<10} {:>10} {:>9} {:>8}\n", "model", "parameters", "test acc", "seconds");
    double seconds = 0;  // of the recurrent models
    std::vector<std::pair<std::string, double>> result = {{"epochs", options.epochs}};
    for (const auto& row : rows) {
      fmt::print("{:<10} {:>10} {:>9.4f} {:>8.1f}\n", row.name, row.parameters, row.test_accuracy,
                 row.seconds);
      seconds += &row == &rows.front() ? 0 : row.seconds;
    }
    const double epoch_seconds = seconds / (options.epochs * cells.size());
    result.emplace_back("epoch_time_s", epoch_seconds);
    result.emplace_back("train_samples_per_s", train_texts.size() / epoch_seconds);
    result.emplace_back("test_acc", rows[config.cell == "all" ? 2 : 1].test_accuracy);  // LSTM's
    for (const auto& row : rows) result.emplace_back(row.name + "_acc", row.test_accuracy);
    course::print_result("10_rnn", result);
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
