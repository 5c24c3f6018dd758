// 11_char_lm: a character-level language model, an LSTM, on Tang and Song poems or on English.
//
// What it teaches:
//   - text as tokens: UTF-8 bytes decoded into Unicode code points, so that a Chinese character
//     (three bytes) is one token, and a vocabulary that maps code points to ids and back
//   - baselines first: unigram and bigram counts, and their validation loss, perplexity and bits
//     per character, which the LSTM must beat
//   - an LSTM language model (char_lstm.h: Embedding, nn::LSTM, Linear) trained with truncated
//     backpropagation through time (TBPTT): the text as B parallel streams cut into windows of T
//     steps, the hidden state carried from window to window and detached; gradient clipping
//   - generation from a prompt, one character at a time: temperature, top-k, a seed, and greedy
// What it leaves out on purpose: word and subword tokens (BPE), attention (lesson 12), batches of
// separate sequences with padding, checkpoints (lesson 07).
//
// Run:  ./course run 11                        (Tang and Song poems, 10 epochs, a few minutes)
//       ./course run 11 -- --corpus english    (English quotations)
//       ./course run 11 -- --smoke             (4096 characters, seconds)
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "char_lstm.h"
#include "course/history.h"
#include "course/lesson.h"
#include "course/progress.h"
#include "course/schedule.h"
#include "course/text.h"
#include "course/timer.h"
#include "tokens.h"

// Dimension legend: N = tokens in a text, V = vocabulary, B = streams, L = tokens per stream,
// T = steps per window.

// ==== Configuration ==============================================================================
struct Config {
  std::string corpus = "tang";    // tang: tang300 + song100 (fortunes-zh); english: 4 collections
  course::CharLstmOptions model;  // embedding 128, hidden 256, 1 layer, dropout 0.2
  double lr = 3e-3;               // Adam's peak learning rate; cosine decay to 0 over the run
  int64_t streams = 32;           // B: the training text as B streams side by side
  int64_t window = 64;            // T: steps per window; backpropagation stops at its start
  double clip = 1.0;              // largest gradient norm; a larger gradient is scaled down to it
  std::string prompt;             // where generation starts ("": 春 for tang, "The " for english)
  int64_t length = 100;           // characters to generate
  double temperature = 0.8;       // < 1: safer choices, > 1: wilder; 0: greedy
  int64_t top_k = 20;             // sample among the k most likely characters only (0: all)
};
constexpr int kEpochs = 10;             // default --epochs
constexpr int64_t kSmokeTokens = 4096;  // --smoke: the first tokens of each split
constexpr int64_t kLogEvery = 50;       // steps between progress updates (and NaN checks)

// ==== Baselines: what counting alone predicts ====================================================
// Unigram: P(b) = (count(b) + 1) / (N + V); + 1: a character unseen in training keeps a chance.
torch::Tensor unigram_probabilities(const torch::Tensor& tokens, int64_t vocabulary) {
  const auto counts = torch::bincount(tokens, {}, vocabulary).to(torch::kFloat64) + 1;  // (V,)
  return counts / counts.sum();
}

// Bigram, Witten-Bell smoothed: P(b | a) = (count(a b) + n(a) P(b)) / (count(a) + n(a)), where
// n(a) is the number of different characters seen after a. (V, V): row a, column b.
torch::Tensor bigram_probabilities(const torch::Tensor& tokens, const torch::Tensor& unigram) {
  const int64_t V = unigram.size(0);
  const auto pairs = tokens.slice(0, 0, -1) * V + tokens.slice(0, 1);  // (N - 1,) a * V + b
  const auto counts = torch::bincount(pairs, {}, V * V).reshape({V, V}).to(torch::kFloat64);
  const auto seen = counts.sum(/*dim=*/1, /*keepdim=*/true);             // (V, 1) count(a)
  const auto followers = counts.gt(0).sum(1, true).to(torch::kFloat64);  // (V, 1) n(a)
  const auto smoothed = (counts + followers * unigram) / (seen + followers).clamp_min(1);
  return torch::where(seen > 0, smoothed, unigram.expand({V, V}));  // a never seen: unigram
}

// Mean negative log-likelihood of each token after the first: -mean log P(x[t] | x[t-1]), or
// -mean log P(x[t]) for the unigram (V,), which does not look back.
double baseline_loss(const torch::Tensor& probabilities, const torch::Tensor& tokens) {
  const auto next = tokens.slice(0, 1);  // (N - 1,)
  const auto p = probabilities.dim() == 1 ? probabilities.index({next})
                                          : probabilities.index({tokens.slice(0, 0, -1), next});
  return -p.log().mean().item<double>();
}

// A loss in nats per character, as perplexity (as unsure as a choice among that many characters)
// and bits per character (what a perfect compressor using the model would need).
struct Score {
  double loss, perplexity, bits;
};
Score score(double loss) {
  return {loss, std::exp(loss), loss / std::log(2.0)};
}

// ==== Truncated backpropagation through time =====================================================
// The text (N,) as B streams side by side, (B, L): row b is the b-th stretch of L tokens, cut into
// windows of T columns, the batches, in order: each row reads on where the window before stopped.
struct Windows {
  std::vector<torch::Tensor> inputs, targets;  // each (B, T); targets: the text shifted by one
};

Windows make_windows(const torch::Tensor& tokens, int64_t streams, int64_t window) {
  const int64_t length = (tokens.size(0) - 1) / streams;  // L
  TORCH_CHECK(length >= 1, "a text of ", tokens.size(0), " tokens is too short for ", streams,
              " streams");
  const auto inputs = tokens.slice(0, 0, streams * length).view({streams, length});  // (B, L)
  const auto targets = tokens.slice(0, 1, streams * length + 1).view({streams, length});
  return {inputs.split(window, /*dim=*/1), targets.split(window, 1)};  // Python: x.split(T, 1)
}

struct StepResult {
  torch::Tensor loss;       // () mean cross-entropy of the window, before the step
  course::LstmState state;  // (h, c) after the window's last step, detached from its graph
};

StepResult train_step(course::CharLstm& model, torch::optim::Optimizer& optimizer,
                      const torch::Tensor& inputs, const torch::Tensor& targets,
                      const course::LstmState& state, double clip) {
  optimizer.zero_grad();
  auto [logits, next] = model->forward(inputs, state);  // (B, T, V); state: the window before's
  const auto loss = torch::nn::functional::cross_entropy(logits.flatten(0, 1), targets.flatten());
  loss.backward();  // through this window's T steps only: `state` came in detached
  torch::nn::utils::clip_grad_norm_(model->parameters(), clip);  // norm of all gradients <= clip
  optimizer.step();
  // detach(): the same numbers without the graph. Python: tuple(s.detach() for s in state)
  return {loss.detach(), {std::get<0>(next).detach(), std::get<1>(next).detach()}};
}

// One pass over the windows, in order; returns the mean training loss.
double train_epoch(course::CharLstm& model, torch::optim::Optimizer& optimizer, const Windows& data,
                   const Config& config, int epoch, int epochs) {
  model->train();  // dropout on
  const auto steps = static_cast<int64_t>(data.inputs.size());
  course::LstmState state = model->zero_state(data.inputs[0].size(0));  // streams start empty
  course::ProgressBar bar(steps, fmt::format("epoch {}/{}", epoch, epochs));
  auto loss_sum = torch::zeros({}, model->head->weight.options());
  int64_t seen = 0;  // columns so far
  for (int64_t step = 0; step < steps; ++step) {
    course::set_lr(optimizer,
                   course::cosine_lr(config.lr, (epoch - 1) * steps + step, epochs * steps));
    const auto& inputs = data.inputs[step];  // (B, T)
    const auto result =
        train_step(model, optimizer, inputs, data.targets[step], state, config.clip);
    state = result.state;  // carried: the next window goes on where this one stopped
    loss_sum += result.loss * inputs.size(1);
    seen += inputs.size(1);
    if ((step + 1) % kLogEvery == 0 || step + 1 == steps) {  // read numbers only here
      const double loss = loss_sum.item<double>() / static_cast<double>(seen);
      course::stop_if_diverged(loss, epoch, config.lr);  // NaN or inf: stop, say why
      bar.update(step + 1, fmt::format("loss {:.4f}", loss));
    }
  }
  bar.finish();
  return loss_sum.item<double>() / static_cast<double>(seen);
}

// Mean loss of predicting each token of `tokens` (N,) from all before it: positions 1..N-1, as for
// the baselines. One stream, all of it in one forward pass (no graph is kept, so it fits).
double evaluate(course::CharLstm& model, const torch::Tensor& tokens) {
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  model->eval();               // dropout off
  const auto logits = std::get<0>(model->forward(tokens.slice(0, 0, -1).unsqueeze(0)))[0];
  const auto loss = torch::nn::functional::cross_entropy(logits, tokens.slice(0, 1));  // (N-1, V)
  model->train();
  return loss.item<double>();
}

// ==== Generation: one character at a time ========================================================
// Runs the prompt (P,) through the LSTM once, then feeds each new token back in, the state
// carried; course::sample_next (tokens.h) picks each token: temperature, top-k, or greedy.
// Returns the `length` new tokens (length,).
torch::Tensor generate(course::CharLstm& model, const torch::Tensor& prompt, int64_t length,
                       double temperature, int64_t top_k) {
  torch::NoGradGuard no_grad;
  model->eval();
  const auto device = model->head->weight.device();
  auto [logits, state] = model->forward(prompt.to(device).unsqueeze(0));  // (1, P, V)
  auto last = logits[0][-1];                                              // (V,) after the prompt
  std::vector<int64_t> tokens;
  for (int64_t i = 0; i < length; ++i) {
    tokens.push_back(course::sample_next(last, temperature, top_k));
    auto [step_logits, next] = model->forward(
        torch::full({1, 1}, tokens.back(), torch::dtype(torch::kInt64).device(device)), state);
    last = step_logits[0][0];  // (V,)
    state = next;
  }
  model->train();
  return torch::tensor(tokens, torch::kInt64);
}

// ==== main: data, baselines, model, train, compare, generate =====================================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("11_char_lm", "A character-level LSTM language model on poems or English",
                        defaults);
    flags.add("--corpus", config.corpus, "Text to learn", {"tang", "english"});
    flags.add("--lr", config.lr, "Adam's peak learning rate", {1e-6, 1.0});
    flags.add("--window", config.window, "T: steps per window (TBPTT length)", {1, 4096});
    flags.add("--hidden", config.model.hidden(), "LSTM hidden units", {1, 8192});
    flags.add("--prompt", config.prompt, "Text to start generating from");
    flags.add("--temperature", config.temperature, "0: greedy; higher: wilder", {0.0, 100.0});
    flags.add("--top-k", config.top_k, "Sample among the k most likely (0: all)", {0, 1 << 20});
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data: bytes -> code points -> token ids -------------------------------------------
    const auto entries = course::load_corpus(options, config.corpus);
    const std::string line = entries[0].substr(0, entries[0].find('\n'));  // UTF-8 bytes
    const std::u32string points = course::decode_utf8(line);               // code points
    const std::string first = course::encode_utf8(points.substr(0, 1));    // 1 to 4 bytes
    fmt::print("corpus {}: {} entries; the first line \"{}\" is {} bytes but {} code points\n",
               config.corpus, entries.size(), line, line.size(), points.size());
    fmt::print("UTF-8: \"{}\" is the bytes {:02x}, code point U+{:04X}, one token\n", first,
               fmt::join(std::vector<uint8_t>(first.begin(), first.end()), " "),
               uint32_t{points[0]});
    const course::Split split = course::split_entries(entries);
    const auto vocabulary = course::build_vocabulary(split.train + split.validation);
    const int64_t keep = options.smoke ? kSmokeTokens : std::numeric_limits<int64_t>::max();
    const auto train_tokens = course::encode(vocabulary, split.train).slice(0, 0, keep);  // (N,)
    const auto validation_tokens = course::encode(vocabulary, split.validation).slice(0, 0, keep);
    fmt::print(
        "vocabulary: {} code points; training: {} entries, {} tokens; validation: {} "
        "entries, {} tokens\n",
        vocabulary.size(), split.train_entries, train_tokens.size(0), split.validation_entries,
        validation_tokens.size(0));

    // ---- 2. Baselines: counting ---------------------------------------------------------------
    const auto unigram = unigram_probabilities(train_tokens, vocabulary.size());  // (V,)
    const auto bigram = bigram_probabilities(train_tokens, unigram);              // (V, V)
    const Score unigram_score = score(baseline_loss(unigram, validation_tokens));
    const Score bigram_score = score(baseline_loss(bigram, validation_tokens));
    fmt::print("baselines: unigram val loss {:.4f}, bigram val loss {:.4f}\n", unigram_score.loss,
               bigram_score.loss);

    // ---- 3. Model and optimizer ---------------------------------------------------------------
    config.model.vocabulary(vocabulary.size());
    course::CharLstm model(config.model);
    model->to(lesson.device);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
    fmt::print("model: LSTM embedding {}, hidden {}, {} layer, dropout {} ({} parameters)\n",
               config.model.embedding(), config.model.hidden(), config.model.layers(),
               config.model.dropout(), course::parameter_count(*model));
    const auto windows =
        make_windows(train_tokens.to(lesson.device), config.streams, config.window);
    fmt::print("training: Adam lr {} (cosine to 0), {} streams x windows of {} steps, clip {}\n",
               config.lr, config.streams, config.window, config.clip);

    // ---- 4. Train: an epoch, a validation pass, a log line ------------------------------------
    course::History history(lesson.out_dir, {"train_loss", "val_loss", "val_bpc", "seconds"});
    const auto validation = validation_tokens.to(lesson.device);
    double seconds = 0;
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch clock;
      const double train_loss =
          train_epoch(model, optimizer, windows, config, epoch, options.epochs);
      const Score val = score(evaluate(model, validation));
      const double epoch_seconds = clock.seconds();
      seconds += epoch_seconds;
      fmt::print(
          "epoch {:2}/{} | train loss {:.4f} | val loss {:.4f} ppl {:.1f} bpc {:.3f} | {:.1f}s\n",
          epoch, options.epochs, train_loss, val.loss, val.perplexity, val.bits, epoch_seconds);
      std::fflush(stdout);
      history.add(epoch, {train_loss, val.loss, val.bits, epoch_seconds});
    }

    // ---- 5. Compare with the baselines --------------------------------------------------------
    const Score lstm_score = score(history.last("val_loss"));
    fmt::print("validation ({} predictions)  loss  perplexity  bits/char\n",
               validation_tokens.size(0) - 1);
    for (const auto& [name, s] :
         {std::pair{"unigram", unigram_score}, std::pair{"bigram", bigram_score},
          std::pair{"LSTM", lstm_score}}) {
      fmt::print("  {:<24} {:7.4f} {:11.2f} {:10.3f}\n", name, s.loss, s.perplexity, s.bits);
    }

    // ---- 6. Generate: sampled, then greedy ----------------------------------------------------
    if (config.prompt.empty()) config.prompt = config.corpus == "tang" ? "春" : "The ";
    const auto prompt_tokens = course::encode(vocabulary, config.prompt);
    torch::manual_seed(options.seed);  // the same seed, the same text, however long we trained
    const auto sampled =
        generate(model, prompt_tokens, config.length, config.temperature, config.top_k);
    fmt::print("sampled (temperature {}, top-k {}, seed {}):\n{}{}\n", config.temperature,
               config.top_k, options.seed, config.prompt, course::decode(vocabulary, sampled));
    const auto greedy = generate(model, prompt_tokens, config.length, /*temperature=*/0, 0);
    fmt::print("greedy (always the most likely next character):\n{}{}\n", config.prompt,
               course::decode(vocabulary, greedy));

    // ---- 7. Report: the loss curve and the RESULT line ----------------------------------------
    history.plot("11_char_lm");
    fmt::print("wrote metrics.csv and loss.png in {}\n", lesson.out_dir.string());
    course::print_result("11_char_lm", {{"epochs", options.epochs},
                                        {"epoch_time_s", seconds / options.epochs},
                                        {"val_loss", lstm_score.loss},
                                        {"val_bpc", lstm_score.bits},
                                        {"bigram_bpc", bigram_score.bits}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
