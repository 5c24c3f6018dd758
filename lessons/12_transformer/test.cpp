// Tests of lesson 12: the very functions main.cpp defines (it is included below, without its
// main) and the GPT of gpt.h, against Python PyTorch's values in golden.json (written by
// reference.py --golden): attention through SDPA and written out, the causal mask, the KV cache,
// one AdamW step with two parameter groups, the schedule, the batches and the race's loop.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init, dropout and batches repeat.
class Transformer : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"12_transformer"};
};
using Attention = Transformer;
using KvCacheTest = Transformer;
using Training = Transformer;

int64_t size(const Golden& golden, const char* name) {
  return static_cast<int64_t>(golden.scalar(std::string("model/inputs/") + name));
}

// The small GPT of the golden cases (dropout 0), with the weights stored under `prefix`.
course::Gpt golden_gpt(const Golden& golden, const std::string& prefix) {
  course::Gpt model(course::GptOptions(size(golden, "vocabulary"))
                        .context(size(golden, "context"))
                        .embedding(size(golden, "embedding"))
                        .heads(size(golden, "heads"))
                        .layers(size(golden, "layers"))
                        .dropout(0.0));
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters())
    item.value().copy_(golden.tensor(prefix + item.key()));
  return model;
}

}  // namespace

// ---- attention ----------------------------------------------------------------------------------

TEST_F(Attention, WrittenOutAndSdpaMatchPython) {
  const auto q = golden_.tensor("attention/inputs/q");  // (1, 2, 5, 4)
  const auto k = golden_.tensor("attention/inputs/k");
  const auto v = golden_.tensor("attention/inputs/v");
  const auto written = attention_written_out(q, k, v);
  EXPECT_TRUE(AllClose(written, golden_.tensor("attention/outputs/written_out"), 1e-5, 1e-6));
  const auto fused = torch::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
  EXPECT_TRUE(AllClose(fused, golden_.tensor("attention/outputs/sdpa"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(fused, written, 1e-5, 1e-6));
  // The first position can only look at itself: its output is its own value.
  EXPECT_TRUE(AllClose(written.select(2, 0), v.select(2, 0), 1e-6, 1e-6));
}

TEST_F(Attention, TheModulesSdpaEqualsTheFormulaWithTheSameWeights) {
  auto model = golden_gpt(golden_, "model/inputs/state/");
  auto& attention = *model->blocks[0]->as<course::Block>()->attention;
  const auto x = torch::sin(torch::arange(2 * 6 * 8, torch::kFloat32) * 0.1).reshape({2, 6, 8});
  torch::NoGradGuard no_grad;
  const auto parts = attention.qkv(x).split(8, 2);  // (B, T, C) each
  const auto heads = [](const torch::Tensor& t) { return t.view({2, 6, 2, 4}).transpose(1, 2); };
  const auto mixed = attention_written_out(heads(parts[0]), heads(parts[1]), heads(parts[2]));
  const auto expected = attention.proj(mixed.transpose(1, 2).reshape({2, 6, 8}));
  EXPECT_TRUE(AllClose(attention.forward(x), expected, 1e-5, 1e-6));
}

TEST_F(Attention, ChangingALaterTokenNeverChangesAnEarlierPosition) {
  auto model = golden_gpt(golden_, "model/inputs/state/");
  torch::NoGradGuard no_grad;
  const auto tokens = golden_.tensor("model/inputs/tokens");  // (2, 6)
  const auto logits = model->forward(tokens);
  auto changed = tokens.clone();
  changed.index_put_({torch::indexing::Slice(), 4}, (tokens.select(1, 4) + 1) % 11);
  const auto after = model->forward(changed);
  const auto before_4 = torch::indexing::Slice(0, 4);
  EXPECT_TRUE(torch::equal(after.index({torch::indexing::Slice(), before_4}),
                           logits.index({torch::indexing::Slice(), before_4})));
  EXPECT_FALSE(torch::allclose(after.select(1, 4), logits.select(1, 4)));  // its own: changes
}

// ---- the model ----------------------------------------------------------------------------------

TEST_F(Transformer, LogitsMatchPython) {
  auto model = golden_gpt(golden_, "model/inputs/state/");
  const auto logits = model->forward(golden_.tensor("model/inputs/tokens"));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 6, 11}));
  EXPECT_TRUE(AllClose(logits, golden_.tensor("model/outputs/logits"), 1e-4, 1e-5));
}

TEST_F(Transformer, TheOutputLayerIsTheTokenEmbedding) {
  course::Gpt model(course::GptOptions(2842));  // the lesson's model on the Tang vocabulary
  // Embeddings 2842*128 + 128*128, 4 blocks of 12*128*128 + 13*128, the final LayerNorm 2*128;
  // no separate output matrix: it is tied to the token embedding.
  EXPECT_EQ(course::parameter_count(*model), 1173504);
  const auto logits = model->forward(torch::arange(5).unsqueeze(0));
  logits[0][4][7].backward();  // one output's gradient reaches row 7 of the embedding
  EXPECT_GT(model->token_embedding->weight.grad()[7].abs().sum().item<double>(), 0.0);
}

TEST_F(Transformer, InitialisesAsGpt2) {
  course::Gpt model(course::GptOptions(2842));
  const auto parameters = model->named_parameters();
  const auto std_of = [&](const std::string& name) {
    return parameters[name].std().item<double>();
  };
  EXPECT_NEAR(std_of("token_embedding.weight"), 0.02, 0.002);
  EXPECT_NEAR(std_of("blocks.0.attention.qkv.weight"), 0.02, 0.002);
  // The two layers that write into the residual stream: 0.02 / sqrt(2 * 4 layers) = 0.0071.
  EXPECT_NEAR(std_of("blocks.1.attention.proj.weight"), 0.02 / std::sqrt(8.0), 0.001);
  EXPECT_NEAR(std_of("blocks.3.mlp.2.weight"), 0.02 / std::sqrt(8.0), 0.001);
  EXPECT_TRUE(torch::equal(parameters["blocks.0.mlp.0.bias"], torch::zeros({512})));
  EXPECT_TRUE(torch::equal(parameters["blocks.2.ln1.weight"], torch::ones({128})));
}

TEST_F(Transformer, RefusesMorePositionsThanItsContext) {
  auto model = golden_gpt(golden_, "model/inputs/state/");  // context 8
  try {
    model->forward(torch::zeros({1, 9}, torch::kInt64));
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("at most 8 positions"),
              std::string::npos);
  }
}

TEST_F(Transformer, EvaluateMatchesPythonInEvalMode) {
  auto model = golden_gpt(golden_, "model/inputs/state/");
  EXPECT_NEAR(evaluate(model, golden_.tensor("model/inputs/text"), 8),
              golden_.scalar("model/outputs/eval_loss"), 1e-5);
  EXPECT_TRUE(model->is_training());
  course::Gpt dropping(
      course::GptOptions(11).context(8).embedding(8).heads(2).layers(1).dropout(0.5));
  const auto text = golden_.tensor("model/inputs/text");
  EXPECT_EQ(evaluate(dropping, text, 8), evaluate(dropping, text, 8));  // no dropout
}

// ---- the key/value cache ------------------------------------------------------------------------

TEST_F(KvCacheTest, CachedStepsGiveTheLogitsOfTheWholeSequence) {
  auto model = golden_gpt(golden_, "model/inputs/state/");
  torch::NoGradGuard no_grad;
  const auto tokens = golden_.tensor("model/inputs/tokens").slice(0, 0, 1);  // (1, 6)
  const auto whole = model->forward(tokens);                                 // (1, 6, V)
  course::KvCache cache;
  std::vector<torch::Tensor> steps{model->forward(tokens.slice(1, 0, 2), &cache)};  // a prompt of 2
  for (int64_t t = 2; t < 6; ++t)
    steps.push_back(model->forward(tokens.slice(1, t, t + 1), &cache));
  EXPECT_EQ(course::GptImpl::cache_length(cache), 6);
  EXPECT_TRUE(AllClose(torch::cat(steps, 1), whole, 1e-5, 1e-5));
  EXPECT_THROW(model->forward(tokens.slice(1, 0, 2), &cache), c10::Error);  // one at a time
}

TEST_F(KvCacheTest, GenerationWithAndWithoutTheCacheGivesTheSameTokens) {
  auto model = golden_gpt(golden_, "model/inputs/state/");
  const auto prompt = golden_.tensor("model/inputs/prompt");
  const auto cached = generate(model, prompt, 5, /*temperature=*/0, 0, /*use_cache=*/true);
  const auto uncached = generate(model, prompt, 5, 0, 0, /*use_cache=*/false);
  EXPECT_TRUE(torch::equal(cached, golden_.tensor("model/outputs/greedy"))) << cached;
  EXPECT_TRUE(torch::equal(cached, uncached));
  EXPECT_TRUE(model->is_training());
  torch::manual_seed(3);
  const auto sampled_cached = generate(model, prompt, 5, 1.0, 0, true);
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(sampled_cached, generate(model, prompt, 5, 1.0, 0, false)));
}

// ---- training -----------------------------------------------------------------------------------

TEST_F(Training, OneAdamWStepMatchesPython) {
  auto model = golden_gpt(golden_, "one_step/inputs/state/");
  auto optimizer = make_optimizer(*model, golden_.scalar("one_step/inputs/lr"),
                                  golden_.scalar("one_step/inputs/weight_decay"));
  const Batch batch{golden_.tensor("one_step/inputs/inputs"),
                    golden_.tensor("one_step/inputs/targets")};
  const auto loss = train_step(model, optimizer, batch, golden_.scalar("one_step/inputs/clip"));
  EXPECT_NEAR(loss.item<double>(), golden_.scalar("one_step/outputs/loss"), 1e-5);
  const int64_t C = size(golden_, "embedding");
  const double lr = golden_.scalar("one_step/inputs/lr");
  for (const auto& item : model->named_parameters()) {
    auto actual = item.value();
    auto expected = golden_.tensor("one_step/outputs/state/" + item.key());
    const std::string& name = item.key();
    if (name.size() > 8 && name.substr(name.size() - 8) == "qkv.bias") {
      // The keys' bias adds q . b to every score of a row, and softmax ignores a constant added
      // to a whole row: its gradient is 0, up to rounding. Adam's first step, lr g / (|g| + eps),
      // turns that rounding into any step in [-lr, lr], different in C++ and Python. So the keys'
      // bias (C .. 2C) only stays within lr; the queries' and values' biases must match.
      EXPECT_TRUE(AllClose(actual.slice(0, C, 2 * C), expected.slice(0, C, 2 * C), 0, lr)) << name;
      actual = torch::cat({actual.slice(0, 0, C), actual.slice(0, 2 * C)});
      expected = torch::cat({expected.slice(0, 0, C), expected.slice(0, 2 * C)});
    }
    EXPECT_TRUE(AllClose(actual, expected, 1e-4, 1e-6)) << name;
  }
}

TEST_F(Training, TheSameStepTrainsTheLstmAsPython) {
  course::CharLstm lstm(course::CharLstmOptions(11).embedding(6).hidden(8).dropout(0.0));
  {
    torch::NoGradGuard no_grad;
    for (auto& item : lstm->named_parameters()) {
      item.value().copy_(golden_.tensor("one_step/inputs/lstm_state/" + item.key()));
    }
  }
  auto optimizer = make_optimizer(*lstm, 0.01, 0.1);
  const Batch batch{golden_.tensor("one_step/inputs/inputs"),
                    golden_.tensor("one_step/inputs/targets")};
  EXPECT_NEAR(train_step(lstm, optimizer, batch, 0.5).item<double>(),
              golden_.scalar("one_step/outputs/lstm_loss"), 1e-5);
  for (const auto& item : lstm->named_parameters()) {
    EXPECT_TRUE(AllClose(item.value(), golden_.tensor("one_step/outputs/lstm_state/" + item.key()),
                         1e-4, 1e-6))
        << item.key();
  }
}

TEST_F(Training, WeightDecayActsOnMatricesOnly) {
  course::Gpt model(course::GptOptions(11).context(8).embedding(8).heads(2).layers(2));
  auto optimizer = make_optimizer(*model, 1e-3, 0.1);
  ASSERT_EQ(optimizer.param_groups().size(), 2u);
  for (const auto& p : optimizer.param_groups()[0].params()) EXPECT_GE(p.dim(), 2);
  for (const auto& p : optimizer.param_groups()[1].params()) EXPECT_EQ(p.dim(), 1);
  const auto decay = [&](size_t group) {
    return static_cast<const torch::optim::AdamWOptions&>(optimizer.param_groups()[group].options())
        .weight_decay();
  };
  EXPECT_EQ(decay(0), 0.1);
  EXPECT_EQ(decay(1), 0.0);
  EXPECT_EQ(
      optimizer.param_groups()[0].params().size() + optimizer.param_groups()[1].params().size(),
      model->parameters().size());
}

TEST_F(Training, ScheduleWarmsUpThenDecaysAsPython) {
  const auto progress = golden_.tensor("schedule/inputs/progress");
  const auto expected = golden_.tensor("schedule/outputs/lr");
  for (int64_t i = 0; i < progress.size(0); ++i) {
    EXPECT_NEAR(learning_rate(1e-3, progress[i].item<double>(), 0.1), expected[i].item<double>(),
                1e-12)
        << "progress " << progress[i].item<double>();
  }
  EXPECT_NEAR(learning_rate(1e-3, 0.1, 0.1), 1e-3, 1e-15);  // the peak, after the warm-up
  EXPECT_NEAR(learning_rate(1e-3, 1.0, 0.1), 1e-4, 1e-15);  // a tenth of it at the end
}

TEST_F(Training, BatchesAreRandomWindowsAndTheirNextTokensAsInPython) {
  torch::manual_seed(static_cast<uint64_t>(golden_.scalar("schedule/inputs/seed")));
  const auto batch = get_batch(torch::arange(50) * 3, /*batch=*/4, /*window=*/6);
  EXPECT_TRUE(torch::equal(batch.inputs, golden_.tensor("schedule/outputs/batch_inputs")));
  EXPECT_TRUE(torch::equal(batch.targets, golden_.tensor("schedule/outputs/batch_targets")));
  // Each row is 6 consecutive tokens (steps of 3 here); the targets are the next ones.
  EXPECT_TRUE(torch::equal(batch.inputs.diff(1, 1), torch::full({4, 5}, 3, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.targets, batch.inputs + 3));
}

TEST_F(Training, TrainRunsItsStepsOrItsSecondsAndEndsAtATenthOfTheRate) {
  Config config;
  config.model = course::GptOptions(11).context(8).embedding(8).heads(2).layers(1);
  config.batch = 2;
  course::Gpt model(config.model);
  auto optimizer = make_optimizer(*model, 1e-2, 0.1);
  const auto text = golden_.tensor("model/inputs/text");
  model->eval();  // train() must switch to train mode
  const TrainRun by_steps = train(model, optimizer, text, text, config, 1e-2, 7, 0, "GPT");
  EXPECT_EQ(by_steps.steps, 7);
  EXPECT_TRUE(model->is_training());
  EXPECT_NEAR(optimizer.param_groups()[0].options().get_lr(), 1e-3, 1e-12);  // progress 1
  EXPECT_GT(by_steps.val_loss, 0.0);
  const TrainRun by_time = train(model, optimizer, text, text, config, 1e-2, 0, 0.3, "GPT");
  EXPECT_GE(by_time.seconds, 0.3);
  EXPECT_GT(by_time.steps, 0);
}
