// 12_transformer: a small GPT (decoder-only transformer) written from scratch, on lesson 11's
// text, and a race against lesson 11's LSTM for the same training time.
//
// What it teaches:
//   - attention: softmax(q k^T / sqrt(d) + causal mask) v, written out, and the same through the
//     fused torch::scaled_dot_product_attention; many heads; the causal mask
//   - a GPT in LibTorch's idiom (gpt.h): token and position embeddings, pre-norm blocks
//     (LayerNorm, attention, MLP, residuals), weight tying, GPT-2's initialisation
//   - training it: random windows of the text, AdamW with weight decay on the matrices only (two
//     parameter groups), warm-up then cosine decay, gradient clipping
//   - generation with a key/value cache, against the same generation without it: the same tokens,
//     measured faster
// What it leaves out on purpose: subword tokens (BPE), mixed precision and compilation (lesson
// 19), how SDPA picks its kernel (flash, memory-efficient, plain), beam search.
//
// Run:  ./course run 12                        (Tang and Song poems, a few minutes)
//       ./course run 12 -- --corpus english
//       ./course run 12 -- --smoke             (10 steps, seconds)
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "11_char_lm/char_lstm.h"
#include "11_char_lm/tokens.h"
#include "course/lesson.h"
#include "course/schedule.h"
#include "course/timer.h"
#include "gpt.h"

// Dimension legend: N = tokens in a text, B = batch, T = tokens per window, H = heads,
// D = numbers per head, V = vocabulary.

// ==== Configuration ==============================================================================
struct Config {
  std::string corpus = "tang";  // tang: tang300 + song100; english: 4 fortune collections
  course::GptOptions model;     // context 128, embedding 128, 4 heads, 4 layers, dropout 0.1
  int64_t steps = 400;          // GPT training steps; the LSTM then trains for as many seconds
  int64_t batch = 16;           // B: windows of `context` tokens per step
  double lr = 1e-3;             // AdamW's peak learning rate, after the warm-up
  double warmup = 0.1;          // share of the training spent warming up from 0 to lr
  double weight_decay = 0.1;    // AdamW's decay, on weight matrices and embeddings only
  double clip = 1.0;            // largest gradient norm
  double lstm_lr = 3e-3;        // the LSTM's peak learning rate (lesson 11's)
  int64_t length = 120;         // tokens to generate (prompt + length <= context)
  std::string prompt;           // where generation starts ("": 春 for tang, "The " for english)
};
constexpr int64_t kSmokeSteps = 10;  // --smoke: GPT steps
constexpr int64_t kLogEvery = 100;   // steps between log lines (and NaN checks)

// ==== Attention, written out =====================================================================
// q, k, v (B, H, T, D) -> (B, H, T, D): position t mixes the values of positions 0..t, weighted
// by how well its query matches their keys. What scaled_dot_product_attention computes.
torch::Tensor attention_written_out(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v) {
  const int64_t T = q.size(-2);
  const auto scores = torch::matmul(q, k.transpose(-2, -1)) /
                      std::sqrt(static_cast<double>(q.size(-1)));  // (B, H, T, T)
  const auto future = torch::ones({T, T}, q.options().dtype(torch::kBool)).triu(/*diagonal=*/1);
  const auto masked = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  return torch::matmul(torch::softmax(masked, /*dim=*/-1), v);  // each row of weights sums to 1
}

// ==== Training ===================================================================================
// The learning rate at `progress` (0: the start of training, 1: the end): a linear warm-up from 0
// to `peak` over the first `warmup` share, then a cosine down to peak / 10.
double learning_rate(double peak, double progress, double warmup) {
  if (progress < warmup) return peak * progress / warmup;
  const double rest = std::min(1.0, (progress - warmup) / (1.0 - warmup));  // 0 .. 1
  return peak * (0.1 + 0.45 * (1.0 + std::cos(M_PI * rest)));
}

// AdamW with two parameter groups: weight decay pulls the matrices and embeddings (2-D) toward 0;
// biases and LayerNorm's scales (1-D) are left alone. Python: AdamW([{"params": decay, ...}, ...])
torch::optim::AdamW make_optimizer(torch::nn::Module& model, double lr, double weight_decay) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  using torch::optim::AdamWOptions;
  const auto options = AdamWOptions(lr).betas({0.9, 0.99});
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(
      decay, std::make_unique<AdamWOptions>(AdamWOptions(options).weight_decay(weight_decay)));
  groups.emplace_back(no_decay,
                      std::make_unique<AdamWOptions>(AdamWOptions(options).weight_decay(0)));
  return torch::optim::AdamW(std::move(groups), options);
}

// B random windows of T tokens (inputs), and the same windows one token later (targets).
struct Batch {
  torch::Tensor inputs, targets;  // (B, T) each
};
Batch get_batch(const torch::Tensor& tokens, int64_t batch, int64_t window) {
  const auto starts = torch::randint(tokens.size(0) - window, {batch, 1}, tokens.options());
  const auto index = starts + torch::arange(window, tokens.options());  // (B, T) positions
  return {tokens.index({index}), tokens.index({index + 1})};            // Python: tokens[index]
}

// The logits (B, T, V) of either model. The LSTM starts each window from zeros: it sees as far
// back as the GPT does, one window.
torch::Tensor logits_of(course::Gpt& model, const torch::Tensor& x) {
  return model->forward(x);
}
torch::Tensor logits_of(course::CharLstm& model, const torch::Tensor& x) {
  return std::get<0>(model->forward(x));
}

// One step, the same for both models: only logits_of differs.
template <typename Model>
torch::Tensor train_step(Model& model, torch::optim::Optimizer& optimizer, const Batch& batch,
                         double clip) {
  optimizer.zero_grad();
  const auto logits = logits_of(model, batch.inputs);  // (B, T, V)
  const auto loss =
      torch::nn::functional::cross_entropy(logits.flatten(0, 1), batch.targets.flatten());
  loss.backward();
  torch::nn::utils::clip_grad_norm_(model->parameters(), clip);
  optimizer.step();
  return loss.detach();
}

// Mean loss over the text cut into windows of T tokens, each window on its own.
template <typename Model>
double evaluate(Model& model, const torch::Tensor& tokens, int64_t window) {
  torch::NoGradGuard no_grad;
  model->eval();  // dropout off
  const int64_t n = (tokens.size(0) - 1) / window;
  const auto inputs = tokens.slice(0, 0, n * window).view({n, window});  // (n, T)
  const auto targets = tokens.slice(0, 1, n * window + 1).view({n, window});
  const torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits_of(model, inputs).flatten(0, 1), targets.flatten());
  model->train();
  return loss.item<double>();
}

struct TrainRun {
  int64_t steps = 0;
  double seconds = 0, val_loss = 0;
};

// Trains for `steps` steps or, when steps is 0, for `seconds` of wall time; the schedule follows
// whichever budget it has. Prints a line every kLogEvery steps.
template <typename Model>
TrainRun train(Model& model, torch::optim::Optimizer& optimizer, const torch::Tensor& tokens,
               const torch::Tensor& validation, const Config& config, double lr, int64_t steps,
               double seconds, const std::string& name) {
  model->train();
  const int64_t T = config.model.context();
  TrainRun run;
  course::Stopwatch clock;
  while (steps > 0 ? run.steps < steps : clock.seconds() < seconds) {
    const double progress =
        steps > 0 ? static_cast<double>(run.steps + 1) / steps : clock.seconds() / seconds;
    course::set_lr(optimizer, learning_rate(lr, progress, config.warmup));
    const torch::Tensor loss =
        train_step(model, optimizer, get_batch(tokens, config.batch, T), config.clip);
    if (++run.steps % kLogEvery == 0) {  // read numbers only here
      const double value = loss.item<double>();
      if (!std::isfinite(value)) throw std::runtime_error(name + ": the loss became NaN");
      fmt::print("{:<4} step {:4} | train loss {:.4f} | val loss {:.4f} | {:.1f}s\n", name,
                 run.steps, value, evaluate(model, validation, T), clock.seconds());
      std::fflush(stdout);
    }
  }
  run.seconds = clock.seconds();
  run.val_loss = evaluate(model, validation, T);
  return run;
}

// ==== Generation, with and without the key/value cache ===========================================
// Continues `prompt` (P,) by `length` tokens (length,). Without the cache, every step runs the
// whole sequence so far (P + i tokens) again to get the last position's logits; with it, the
// prompt runs once, then each step runs one new token, whose keys and values join the cache.
torch::Tensor generate(course::Gpt& model, const torch::Tensor& prompt, int64_t length,
                       double temperature, int64_t top_k, bool use_cache) {
  torch::NoGradGuard no_grad;
  model->eval();
  course::KvCache cache;
  auto tokens = prompt.to(model->token_embedding->weight.device()).unsqueeze(0);  // (1, P)
  auto logits = model->forward(tokens, use_cache ? &cache : nullptr);             // (1, P, V)
  for (int64_t i = 0; i < length; ++i) {
    const auto next = torch::full({1, 1}, course::sample_next(logits[0][-1], temperature, top_k),
                                  tokens.options());
    tokens = torch::cat({tokens, next}, /*dim=*/1);  // (1, P + i + 1)
    if (i + 1 < length) logits = use_cache ? model->forward(next, &cache) : model->forward(tokens);
  }
  model->train();
  return tokens[0].slice(0, prompt.size(0)).cpu();
}

// ==== main: data, attention, model, the race, generation =========================================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("12_transformer", "A small GPT from scratch, raced against an LSTM");
    flags.add("--corpus", config.corpus, "Text to learn", {"tang", "english"});
    flags.add("--steps", config.steps, "GPT training steps (--epochs is not used)", {1, 1e7});
    flags.add("--lr", config.lr, "AdamW's peak learning rate", {1e-6, 1.0});
    flags.add("--layers", config.model.layers(), "Transformer blocks", {1, 64});
    flags.add("--prompt", config.prompt, "Text to start generating from");
    const course::Options& options = flags.parse(argc, argv);
    const course::Lesson lesson = course::begin_lesson(flags);

    // ---- 1. Data: lesson 11's corpus and vocabulary -------------------------------------------
    const auto split = course::split_entries(course::load_corpus(options, config.corpus));
    const auto vocabulary = course::build_vocabulary(split.train + split.validation);
    const auto train_tokens = course::encode(vocabulary, split.train).to(lesson.device);  // (N,)
    const auto validation = course::encode(vocabulary, split.validation).to(lesson.device);
    fmt::print("corpus {}: {} tokens for training, {} for validation, vocabulary {}\n",
               config.corpus, train_tokens.size(0), validation.size(0), vocabulary.size());

    // ---- 2. Attention: the fused call computes the formula ------------------------------------
    const auto q = torch::randn({2, 4, 16, 8}), k = torch::randn({2, 4, 16, 8}),
               v = torch::randn({2, 4, 16, 8});  // (B, H, T, D)
    const auto fused = torch::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
    fmt::print(
        "attention: scaled_dot_product_attention and softmax(q k^T / sqrt(d) + mask) v "
        "differ by at most {:.1e}\n",
        (fused - attention_written_out(q, k, v)).abs().max().item<double>());

    // ---- 3. The GPT and its optimizer ---------------------------------------------------------
    config.model.vocabulary(vocabulary.size());
    course::Gpt gpt(config.model);
    gpt->to(lesson.device);
    auto optimizer = make_optimizer(*gpt, config.lr, config.weight_decay);
    fmt::print(
        "model: GPT {} layers, {} heads, embedding {}, context {}, dropout {} ({} "
        "parameters)\n",
        config.model.layers(), config.model.heads(), config.model.embedding(),
        config.model.context(), config.model.dropout(), course::parameter_count(*gpt));
    fmt::print(
        "training: AdamW lr {} (warm-up {}%, cosine to lr/10), weight decay {} on {} "
        "tensors and 0 on {}, batch {} x {} tokens, clip {}\n",
        config.lr, config.warmup * 100, config.weight_decay,
        optimizer.param_groups()[0].params().size(), optimizer.param_groups()[1].params().size(),
        config.batch, config.model.context(), config.clip);

    // ---- 4. The race: the GPT for `steps`, then the LSTM for as many seconds ------------------
    const int64_t steps = options.smoke ? kSmokeSteps : config.steps;
    const TrainRun gpt_run =
        train(gpt, optimizer, train_tokens, validation, config, config.lr, steps, 0, "GPT");
    course::CharLstm lstm(course::CharLstmOptions(vocabulary.size()));
    lstm->to(lesson.device);
    auto lstm_optimizer = make_optimizer(*lstm, config.lstm_lr, config.weight_decay);
    const TrainRun lstm_run = train(lstm, lstm_optimizer, train_tokens, validation, config,
                                    config.lstm_lr, 0, gpt_run.seconds, "LSTM");
    fmt::print("same training time    steps  seconds  val loss  bits/char  parameters\n");
    for (const auto& [name, run, count] :
         {std::tuple{"LSTM (lesson 11)", lstm_run, course::parameter_count(*lstm)},
          std::tuple{"GPT", gpt_run, course::parameter_count(*gpt)}}) {
      fmt::print("  {:<18} {:6} {:8.1f} {:9.4f} {:10.3f} {:11}\n", name, run.steps, run.seconds,
                 run.val_loss, run.val_loss / std::log(2.0), count);
    }

    // ---- 5. Generation: the KV cache gives the same tokens, faster ----------------------------
    if (config.prompt.empty()) config.prompt = config.corpus == "tang" ? "春" : "The ";
    const auto prompt = course::encode(vocabulary, config.prompt);
    const int64_t length = std::min(config.length, config.model.context() - prompt.size(0));
    const auto greedy = [&](bool use_cache) {  // the tokens and the seconds they took
      course::Stopwatch clock;
      const auto tokens = generate(gpt, prompt, length, /*temperature=*/0, 0, use_cache);
      return std::pair{tokens, clock.seconds()};  // generate's .cpu() waited for the device
    };
    const auto [slow, slow_seconds] = greedy(/*use_cache=*/false);
    const auto [fast, fast_seconds] = greedy(/*use_cache=*/true);
    fmt::print(
        "generation, {} tokens, greedy: without the KV cache {:.2f}s, with it {:.2f}s "
        "({:.1f}x faster); the same tokens: {}\n",
        length, slow_seconds, fast_seconds, slow_seconds / fast_seconds,
        torch::equal(slow, fast) ? "yes" : "no");
    torch::manual_seed(options.seed);
    const auto sampled = generate(gpt, prompt, length, /*temperature=*/0.8, /*top_k=*/20, true);
    fmt::print("sampled (temperature 0.8, top-k 20, seed {}):\n{}{}\n", options.seed, config.prompt,
               course::decode(vocabulary, sampled));

    // ---- 6. Report ----------------------------------------------------------------------------
    const double tokens_per_step = static_cast<double>(config.batch * config.model.context());
    course::print_result("12_transformer",
                         {{"steps", static_cast<double>(gpt_run.steps)},
                          {"train_tokens_per_s", gpt_run.steps * tokens_per_step / gpt_run.seconds},
                          {"gpt_val_loss", gpt_run.val_loss},
                          {"lstm_val_loss", lstm_run.val_loss},
                          {"kv_cache_speedup", slow_seconds / fast_seconds}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING
