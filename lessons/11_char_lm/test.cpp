// Tests of lesson 11: the very functions main.cpp defines (it is included below, without its
// main) and its two headers, against Python PyTorch's values in golden.json (written by
// reference.py --golden): UTF-8 and the vocabulary, the corpus files, the baselines, one TBPTT
// step and an epoch, evaluation, and generation (greedy and seeded sampling) as Python does it.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init and dropout repeat.
class CharLm : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"11_char_lm"};
};
using Baselines = CharLm;
using Tbptt = CharLm;
using Generation = CharLm;

// A fresh empty folder per test (dir_) for fortune files of our own; also seeds.
class Corpus : public course::testing::ScratchDir {
 protected:
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
};

// The small CharLstm of a golden case (dropout 0: no random stream), with the weights stored at
// `prefix` ("one_step/inputs/state/": before the step; "one_step/outputs/state/": after it).
course::CharLstm golden_model(const Golden& golden, const std::string& case_name,
                              const std::string& prefix) {
  const auto size = [&](const char* name) {
    return static_cast<int64_t>(golden.scalar(case_name + "/inputs/" + name));
  };
  course::CharLstm model(course::CharLstmOptions(size("vocabulary"))
                             .embedding(size("embedding"))
                             .hidden(size("hidden"))
                             .dropout(0.0));
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters())
    item.value().copy_(golden.tensor(prefix + item.key()));
  return model;
}

// Every weight of `model` against the golden ones at `prefix`.
void expect_weights(course::CharLstm& model, const Golden& golden, const std::string& prefix) {
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(AllClose(item.value(), golden.tensor(prefix + item.key()), 1e-4, 1e-6))
        << item.key();
  }
}

std::string text_of(const torch::Tensor& code_points) {  // int64 code points -> UTF-8
  std::u32string points;
  for (int64_t i = 0; i < code_points.numel(); ++i) {
    points += static_cast<char32_t>(code_points[i].item<int64_t>());
  }
  return course::encode_utf8(points);
}

}  // namespace

// ---- UTF-8 and the vocabulary ------------------------------------------------------------------

TEST_F(CharLm, AChineseCharacterIsThreeBytesButOneToken) {
  const std::string line = "床前明月光";  // UTF-8 in this source file
  EXPECT_EQ(line.size(), 15u);            // a std::string counts bytes
  EXPECT_EQ(course::decode_utf8(line).size(), 5u);
  const auto vocabulary = course::build_vocabulary(line);
  EXPECT_EQ(vocabulary.size(), 5);
  const auto tokens = course::encode(vocabulary, line);
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{5}));
  EXPECT_EQ(course::decode(vocabulary, tokens.slice(0, 1, 2)), "前");
}

TEST_F(CharLm, InvalidUtf8IsAClearErrorNamingTheByte) {
  // Each case: bytes that are not UTF-8, and the message decode_utf8 must give.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\x80", "invalid UTF-8 at byte 0: a continuation byte without a lead byte"},
      {"\xe6\x98\x41", "invalid UTF-8 at byte 0: a character is cut short"},  // 春: e6 98 a5
      {"\xe6\x98\xa5\xe6\x98", "invalid UTF-8 at byte 3: the text ends inside a character"},
      {"\xc0\xaf", "invalid UTF-8 at byte 0: an overlong encoding"},  // '/' in two bytes
      {"\xed\xa0\x80", "invalid UTF-8 at byte 0: a UTF-16 surrogate"},
  };
  for (const auto& [bytes, message] : cases) {
    try {
      course::decode_utf8(bytes);
      ADD_FAILURE() << "expected an error for " << message;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

TEST_F(CharLm, VocabularyMatchesPythonAndRoundTrips) {
  const std::string text = text_of(golden_.tensor("vocabulary/inputs/code_points"));
  EXPECT_EQ(static_cast<double>(text.size()), golden_.scalar("vocabulary/outputs/bytes"));
  const auto vocabulary = course::build_vocabulary(text);
  std::vector<int64_t> characters(vocabulary.characters.begin(), vocabulary.characters.end());
  EXPECT_TRUE(torch::equal(torch::tensor(characters, torch::kInt64),
                           golden_.tensor("vocabulary/outputs/characters")));
  const auto tokens = course::encode(vocabulary, text);
  EXPECT_TRUE(torch::equal(tokens, golden_.tensor("vocabulary/outputs/ids")));
  EXPECT_EQ(course::decode(vocabulary, tokens), text);
}

TEST_F(CharLm, VocabularyRoundTripsTheWholeTangCorpus) {
  const course::Split split = course::split_entries(course::load_corpus({}, "tang"));
  const auto vocabulary = course::build_vocabulary(split.train + split.validation);
  EXPECT_GT(vocabulary.size(), 2000);  // thousands of distinct characters
  EXPECT_EQ(course::decode(vocabulary, course::encode(vocabulary, split.train)), split.train);
  EXPECT_EQ(course::decode(vocabulary, course::encode(vocabulary, split.validation)),
            split.validation);
}

TEST_F(CharLm, ACharacterOutsideTheVocabularyIsAClearError) {
  const auto vocabulary = course::build_vocabulary("春风");
  try {
    course::encode(vocabulary, "春雨");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'雨' (U+96E8) is not in the vocabulary"),
              std::string::npos)
        << e.what();
  }
}

// ---- the corpus files --------------------------------------------------------------------------

TEST_F(Corpus, ReadsEntriesWithoutColoursAndPutsEveryTenthInValidation) {
  std::string tang = "\x1b[32m《静夜思》\x1b[m\n床前明月光\n%\n";
  for (int i = 1; i < 12; ++i) tang += "poem " + std::to_string(i) + "\n%\n";
  write("tang300", tang);
  write("song100", "song\n");
  course::Options options;
  options.data_dir = dir_.string();
  const auto entries = course::load_corpus(options, "tang");
  ASSERT_EQ(entries.size(), 13u);  // 12 in tang300, then 1 in song100
  EXPECT_EQ(entries[0], "《静夜思》\n床前明月光");
  EXPECT_EQ(entries[12], "song");
  const course::Split split = course::split_entries(entries);
  EXPECT_EQ(split.train_entries, 12);
  EXPECT_EQ(split.validation_entries, 1);
  EXPECT_EQ(split.validation, "poem 9\n\n");  // the tenth entry, with its blank line
  EXPECT_EQ(split.train.rfind("《静夜思》\n床前明月光\n\npoem 1\n\npoem 2\n\n", 0), 0u);
}

TEST_F(Corpus, InvalidUtf8GivenThroughDataDirIsAClearError) {
  write("tang300", "《静夜思》\n床前\xff明月光\n%\n");
  write("song100", "song\n");
  course::Options options;
  options.data_dir = dir_.string();
  try {
    course::load_corpus(options, "tang");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tang300: line 2: invalid UTF-8 at byte 6"), std::string::npos)
        << message;
  }
}

TEST_F(Corpus, AnUnknownCorpusIsAClearError) {
  EXPECT_THROW(course::corpus_files("latin"), std::invalid_argument);
  EXPECT_EQ(course::corpus_files("english").size(), 4u);
}

// ---- baselines and scores ----------------------------------------------------------------------

TEST_F(Baselines, MatchPython) {
  const auto train = golden_.tensor("baselines/inputs/train");
  const auto validation = golden_.tensor("baselines/inputs/validation");
  const auto unigram = unigram_probabilities(train, 7);
  const auto bigram = bigram_probabilities(train, unigram);
  EXPECT_TRUE(AllClose(unigram, golden_.tensor("baselines/outputs/unigram"), 1e-7, 1e-9));
  EXPECT_TRUE(AllClose(bigram, golden_.tensor("baselines/outputs/bigram"), 1e-7, 1e-9));
  EXPECT_NEAR(baseline_loss(unigram, validation), golden_.scalar("baselines/outputs/unigram_loss"),
              1e-6);
  EXPECT_NEAR(baseline_loss(bigram, validation), golden_.scalar("baselines/outputs/bigram_loss"),
              1e-6);
}

TEST_F(Baselines, EveryRowIsAProbabilityDistribution) {
  const auto train = golden_.tensor("baselines/inputs/train");  // never uses token 6
  const auto unigram = unigram_probabilities(train, 7);
  const auto bigram = bigram_probabilities(train, unigram);
  EXPECT_NEAR(unigram.sum().item<double>(), 1.0, 1e-12);
  EXPECT_TRUE(AllClose(bigram.sum(1), torch::ones({7}, torch::kFloat64), 1e-12, 1e-12));
  EXPECT_GT(unigram[6].item<double>(), 0.0);      // unseen, yet possible
  EXPECT_TRUE(torch::equal(bigram[6], unigram));  // never seen first: the unigram
}

TEST_F(CharLm, PerplexityAndBitsFollowFromTheLoss) {
  const Score two = score(std::log(2.0));  // a fair coin
  EXPECT_NEAR(two.perplexity, 2.0, 1e-12);
  EXPECT_NEAR(two.bits, 1.0, 1e-12);
  const Score bytes = score(std::log(256.0));  // a uniform guess among 256
  EXPECT_NEAR(bytes.perplexity, 256.0, 1e-9);
  EXPECT_NEAR(bytes.bits, 8.0, 1e-12);
}

// ---- truncated backpropagation through time ----------------------------------------------------

TEST_F(Tbptt, StreamsAreRowsAndTargetsAreTheNextTokens) {
  const auto windows = make_windows(torch::arange(23), /*streams=*/2, /*window=*/4);
  ASSERT_EQ(windows.inputs.size(), 3u);  // L = 11 columns: windows of 4, 4 and 3
  EXPECT_EQ(windows.inputs[2].sizes(), (std::vector<int64_t>{2, 3}));
  const auto inputs = torch::cat(windows.inputs, 1);  // (2, 11)
  const auto targets = torch::cat(windows.targets, 1);
  EXPECT_TRUE(torch::equal(inputs, torch::arange(22).view({2, 11})));  // row 1 starts at 11
  EXPECT_TRUE(torch::equal(targets, inputs + 1));
  EXPECT_THROW(make_windows(torch::arange(3), 4, 4), c10::Error);  // too short: says so
}

TEST_F(Tbptt, OneStepMatchesPython) {
  auto model = golden_model(golden_, "one_step", "one_step/inputs/state/");
  const double clip = golden_.scalar("one_step/inputs/clip");
  ASSERT_GT(golden_.scalar("one_step/outputs/grad_norm"), clip);  // so clipping acts
  torch::optim::SGD optimizer(model->parameters(),
                              torch::optim::SGDOptions(golden_.scalar("one_step/inputs/lr")));
  const auto result =
      train_step(model, optimizer, golden_.tensor("one_step/inputs/inputs"),
                 golden_.tensor("one_step/inputs/targets"),
                 {golden_.tensor("one_step/inputs/h"), golden_.tensor("one_step/inputs/c")}, clip);
  EXPECT_NEAR(result.loss.item<double>(), golden_.scalar("one_step/outputs/loss"), 1e-5);
  const auto& [h, c] = result.state;
  EXPECT_TRUE(AllClose(h, golden_.tensor("one_step/outputs/h"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(c, golden_.tensor("one_step/outputs/c"), 1e-5, 1e-6));
  EXPECT_FALSE(h.requires_grad());  // detached: the next window's backward stops here
  EXPECT_FALSE(c.requires_grad());
  expect_weights(model, golden_, "one_step/outputs/state/");
}

TEST_F(Tbptt, TheNextWindowBackpropagatesFromTheCarriedState) {
  auto model = golden_model(golden_, "one_step", "one_step/inputs/state/");
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(0.01));
  const auto inputs = golden_.tensor("one_step/inputs/inputs");
  const auto targets = golden_.tensor("one_step/inputs/targets");
  auto result = train_step(model, optimizer, inputs, targets, model->zero_state(2), 1.0);
  // Without detach() this second backward would run into the first window's freed graph.
  EXPECT_NO_THROW(result = train_step(model, optimizer, inputs, targets, result.state, 1.0));
}

TEST_F(Tbptt, AnEpochMatchesPython) {
  auto model = golden_model(golden_, "epoch", "epoch/inputs/state/");
  Config config;
  config.lr = golden_.scalar("epoch/inputs/lr");
  config.clip = golden_.scalar("epoch/inputs/clip");
  const auto windows = make_windows(golden_.tensor("epoch/inputs/tokens"),
                                    static_cast<int64_t>(golden_.scalar("epoch/inputs/streams")),
                                    static_cast<int64_t>(golden_.scalar("epoch/inputs/window")));
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
  model->eval();  // as a careless caller might leave it: train_epoch must switch to train()
  const double loss = train_epoch(model, optimizer, windows, config, /*epoch=*/2, /*epochs=*/2);
  EXPECT_NEAR(loss, golden_.scalar("epoch/outputs/loss"), 1e-5);
  EXPECT_TRUE(model->is_training());
  expect_weights(model, golden_, "epoch/outputs/state/");
  // The last step of the second epoch: step 5 of a 6-step schedule.
  EXPECT_NEAR(optimizer.param_groups()[0].options().get_lr(), course::cosine_lr(config.lr, 5, 6),
              1e-12);
}

// ---- evaluation and generation -----------------------------------------------------------------

TEST_F(CharLm, EvaluateMatchesPythonWithoutDropoutOrGradients) {
  auto model = golden_model(golden_, "generate", "generate/inputs/state/");
  const auto tokens = golden_.tensor("generate/inputs/tokens");
  EXPECT_NEAR(evaluate(model, tokens), golden_.scalar("generate/outputs/eval_loss"), 1e-5);
  EXPECT_TRUE(model->is_training());  // handed back in train() mode
  EXPECT_FALSE(model->head->weight.grad().defined());
  course::CharLstm dropping(course::CharLstmOptions(11).embedding(6).hidden(8).dropout(0.5));
  EXPECT_EQ(evaluate(dropping, tokens), evaluate(dropping, tokens));  // eval(): dropout off
}

TEST_F(Generation, GreedyMatchesPython) {
  auto model = golden_model(golden_, "generate", "generate/inputs/state/");
  const auto greedy = generate(model, golden_.tensor("generate/inputs/prompt"), 12,
                               /*temperature=*/0.0, /*top_k=*/0);
  EXPECT_TRUE(torch::equal(greedy, golden_.tensor("generate/outputs/greedy"))) << greedy;
  EXPECT_TRUE(model->is_training());
  // In eval() mode: dropout off, so greedy decoding repeats itself.
  course::CharLstm dropping(course::CharLstmOptions(11).embedding(6).hidden(8).dropout(0.5));
  const auto prompt = golden_.tensor("generate/inputs/prompt");
  EXPECT_TRUE(
      torch::equal(generate(dropping, prompt, 30, 0.0, 0), generate(dropping, prompt, 30, 0.0, 0)));
}

TEST_F(Generation, SampledWithTheSameSeedMatchesPython) {
  auto model = golden_model(golden_, "generate", "generate/inputs/state/");
  const auto prompt = golden_.tensor("generate/inputs/prompt");
  torch::manual_seed(static_cast<uint64_t>(golden_.scalar("generate/inputs/seed")));
  const auto sampled = generate(model, prompt, 12, golden_.scalar("generate/inputs/temperature"),
                                static_cast<int64_t>(golden_.scalar("generate/inputs/top_k")));
  EXPECT_TRUE(torch::equal(sampled, golden_.tensor("generate/outputs/sampled"))) << sampled;
}

TEST_F(Generation, TopKSamplesOnlyAmongTheKMostLikely) {
  const auto logits = torch::arange(10, torch::kFloat32);  // token 9 is the most likely
  int outside_top3 = 0, outside_all = 0;
  for (int i = 0; i < 300; ++i) {
    outside_top3 += course::sample_next(logits, /*temperature=*/1.0, /*top_k=*/3) < 7;
    outside_all += course::sample_next(logits, 1.0, /*top_k=*/0) < 7;
  }
  EXPECT_EQ(outside_top3, 0);
  EXPECT_GT(outside_all, 3);  // about 5% of 300 without top-k
}

TEST_F(Generation, TemperatureSharpensOrFlattensTheChoice) {
  const auto logits = torch::tensor({0.0f, 1.0f, 0.5f});
  int ones_cold = 0, ones_hot = 0;
  for (int i = 0; i < 300; ++i) {
    ones_cold += course::sample_next(logits, /*temperature=*/0.05, /*top_k=*/0) == 1;
    ones_hot += course::sample_next(logits, /*temperature=*/20.0, /*top_k=*/0) == 1;
  }
  EXPECT_EQ(ones_cold, 300);  // nearly greedy
  EXPECT_LT(ones_hot, 150);   // nearly uniform: about 100 of 300
  EXPECT_EQ(course::sample_next(logits, /*temperature=*/0.0, 0), 1);  // greedy
}

// ---- the model ---------------------------------------------------------------------------------

TEST_F(CharLm, DropoutActsOnEmbeddingsAndOutputsAsInPython) {
  course::CharLstm model(course::CharLstmOptions(11).embedding(6).hidden(8).dropout(0.5));
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    item.value().copy_(golden_.tensor("dropout/inputs/state/" + item.key()));
  }
  torch::manual_seed(static_cast<uint64_t>(golden_.scalar("dropout/inputs/seed")));
  const auto logits = std::get<0>(model->forward(golden_.tensor("dropout/inputs/inputs")));
  EXPECT_TRUE(AllClose(logits, golden_.tensor("dropout/outputs/logits"), 1e-5, 1e-6));
}

TEST_F(CharLm, ModelGivesLogitsPerStepAndCarriesItsState) {
  course::CharLstm model(course::CharLstmOptions(2842));  // the Tang vocabulary
  EXPECT_EQ(course::parameter_count(*model), 1489434);
  const auto tokens = torch::arange(21).reshape({3, 7});
  auto [logits, state] = model->forward(tokens);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 7, 2842}));
  EXPECT_EQ(std::get<0>(state).sizes(), (std::vector<int64_t>{1, 3, 256}));
  model->eval();  // no dropout: reading in two halves with the state carried = reading at once
  torch::NoGradGuard no_grad;
  const auto whole = std::get<0>(model->forward(tokens));
  auto [first, middle] = model->forward(tokens.slice(1, 0, 4));
  const auto second = std::get<0>(model->forward(tokens.slice(1, 4), middle));
  EXPECT_TRUE(AllClose(torch::cat({first, second}, 1), whole, 1e-5, 1e-5));
  EXPECT_THROW(model->forward(torch::arange(5)), c10::Error);  // (T,): says unsqueeze(0)
}
