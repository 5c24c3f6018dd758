// Tests of lesson 10: the very functions main.cpp defines (it is included below, without its
// main), against Python PyTorch's values in golden.json (written by reference.py --golden): the
// vocabulary, padding, the hand-written LSTM cell, packing and the final states, the baseline, one
// training step, evaluation, and the lesson's loading of fortune collections, broken ones too.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using course::testing::AllClose;
using course::testing::Golden;

namespace {

// Seeds the default generator before every test, so weight init and dropout repeat.
class Rnn : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(0); }
  const Golden golden_{"10_rnn"};
};
using Packing = Rnn;
using Training = Rnn;

// A fresh folder per test (dir_) for collections written by the test; also seeds.
class Loading : public course::testing::ScratchDir {
 protected:
  // Writes <dir_>/fortunes/<name>, returns the options that point --data-dir at it.
  course::Options write(const std::string& name, const std::string& text) {
    fs::create_directories(dir_ / "fortunes");
    std::ofstream(dir_ / "fortunes" / name, std::ios::binary) << text;
    course::Options options;
    options.data_dir = dir_.string();
    return options;
  }
  // `count` entries "<name> number k, ..." of `length` characters each (at least 20).
  static std::string entries(const std::string& name, int count, size_t length = 40) {
    std::string text;
    for (int k = 0; k < count; ++k) {
      std::string entry = fmt::format("{} number {}, ", name, k);
      entry.resize(std::max(length, entry.size()), 'x');
      text += entry + "\n%\n";
    }
    return text;
  }
  // The message load_texts throws for these options, or "" when it does not throw.
  static std::string load_error(const course::Options& options, const Config& config) {
    try {
      load_texts(options, config.collections, config.test_share, config.max_chars);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
};

// Golden "inputs/points" and "inputs/lengths" -> texts, all with label 0.
std::vector<Text> golden_texts(const Golden& golden, const std::string& prefix) {
  const auto points = golden.tensor(prefix + "points");
  const auto lengths = golden.tensor(prefix + "lengths");
  std::vector<Text> texts;
  int64_t start = 0;
  for (int64_t k = 0; k < lengths.size(0); ++k) {
    std::u32string chars;
    for (int64_t i = 0; i < lengths[k].item<int64_t>(); ++i)
      chars += static_cast<char32_t>(points[start + i].item<int64_t>());
    start += lengths[k].item<int64_t>();
    texts.push_back({chars, 0});
  }
  return texts;
}

// Copies golden weights ("<prefix>state/<name>") into a module by name.
void load_state(nn::Module& module, const Golden& golden, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters())
    item.value().copy_(golden.tensor(prefix + "state/" + item.key()));
}

// The small models of the golden cases: V = 12, 3 classes, E = 4, H = 5.
TextRnn golden_rnn(const std::string& cell, int64_t layers, double dropout = 0.0) {
  return TextRnn(TextRnnOptions()
                     .cell(cell)
                     .vocabulary(12)
                     .classes(3)
                     .embedding(4)
                     .hidden(5)
                     .layers(layers)
                     .dropout(dropout));
}

Split golden_batch(const Golden& golden, const std::string& name) {
  return {golden.tensor(name + "/inputs/tokens"), golden.tensor(name + "/inputs/lengths"),
          golden.has(name + "/inputs/labels") ? golden.tensor(name + "/inputs/labels")
                                              : torch::zeros({5}, torch::kInt64)};
}

}  // namespace

// ---- data: vocabulary, encoding, padding
// ---------------------------------------------------------

TEST_F(Rnn, VocabularyIsTheTrainingCharactersInCodePointOrderAfterPadAndUnk) {
  const auto vocabulary = build_vocabulary(golden_texts(golden_, "vocabulary/inputs/"));
  const auto expected = golden_.tensor("vocabulary/outputs/characters");
  ASSERT_EQ(static_cast<int64_t>(vocabulary.size()), expected.size(0));
  int64_t k = 0;
  for (const auto& [c, index] : vocabulary) {
    EXPECT_EQ(static_cast<int64_t>(c), expected[k].item<int64_t>());
    EXPECT_EQ(index, k + 2) << "characters are numbered after <pad> = 0 and <unk> = 1";
    ++k;
  }
  std::u32string probe;
  const auto points = golden_.tensor("vocabulary/inputs/probe");
  for (int64_t i = 0; i < points.size(0); ++i) probe += char32_t(points[i].item<int64_t>());
  const auto tokens = encode(probe, vocabulary);  // unseen characters ("!", 世, 界) become <unk>
  EXPECT_TRUE(torch::equal(tokens, golden_.tensor("vocabulary/outputs/probe_tokens"))) << tokens;
}

TEST_F(Rnn, PaddingFillsWithPadAndKeepsTheLengthsOnTheCpu) {
  const auto texts = golden_texts(golden_, "vocabulary/inputs/");
  const auto split = make_split(texts, build_vocabulary(texts), torch::kCPU);
  EXPECT_TRUE(torch::equal(split.tokens, golden_.tensor("pad/outputs/tokens"))) << split.tokens;
  EXPECT_TRUE(torch::equal(split.lengths, golden_.tensor("pad/outputs/lengths")));
  EXPECT_EQ(split.lengths.device(), torch::Device(torch::kCPU));
  EXPECT_EQ(split.labels.sizes(), (std::vector<int64_t>{4}));
}

TEST_F(Rnn, TakePadsABatchOnlyToItsLongestText) {
  const Split split{golden_.tensor("pad/outputs/tokens"), golden_.tensor("pad/outputs/lengths"),
                    torch::arange(4)};
  const auto batch = take(split, torch::tensor({1, 2}, torch::kInt64));  // lengths 5 and 8
  EXPECT_EQ(batch.tokens.sizes(), (std::vector<int64_t>{2, 8}));
  EXPECT_TRUE(torch::equal(
      batch.tokens, split.tokens.index({torch::tensor({1, 2}), torch::indexing::Slice(0, 8)})));
  EXPECT_TRUE(torch::equal(batch.lengths, torch::tensor({5, 8}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.labels, torch::tensor({1, 2}, torch::kInt64)));
}

// ---- the hand-written LSTM cell ----------------------------------------------------------------

TEST_F(Rnn, LstmCellByHandEqualsTorchLstmCell) {
  nn::LSTMCell cell(/*input_size=*/6, /*hidden_size=*/8);  // random weights
  const auto x = torch::randn({3, 6}), h = torch::randn({3, 8}), c = torch::randn({3, 8});
  const auto [h_hand, c_hand] = lstm_cell_by_hand(x, h, c, *cell);
  const auto [h_torch, c_torch] = cell->forward(x, std::make_tuple(h, c));
  EXPECT_TRUE(AllClose(h_hand, h_torch, 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(c_hand, c_torch, 1e-5, 1e-6));
}

TEST_F(Rnn, LstmCellByHandMatchesPythonsLstmCell) {
  nn::LSTMCell cell(3, 4);
  load_state(*cell, golden_, "lstm_cell/inputs/");
  const auto [h, c] =
      lstm_cell_by_hand(golden_.tensor("lstm_cell/inputs/x"), golden_.tensor("lstm_cell/inputs/h"),
                        golden_.tensor("lstm_cell/inputs/c"), *cell);
  EXPECT_TRUE(AllClose(h, golden_.tensor("lstm_cell/outputs/h"), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(c, golden_.tensor("lstm_cell/outputs/c"), 1e-5, 1e-6));
}

TEST_F(Rnn, LstmCellByHandStepByStepIsNnLstm) {
  nn::LSTM lstm(nn::LSTMOptions(3, 4).batch_first(true));
  nn::LSTMCell cell(3, 4);
  {
    torch::NoGradGuard no_grad;  // the same weights: layer 0 of the LSTM is one cell
    cell->weight_ih.copy_(lstm->named_parameters()["weight_ih_l0"]);
    cell->weight_hh.copy_(lstm->named_parameters()["weight_hh_l0"]);
    cell->bias_ih.copy_(lstm->named_parameters()["bias_ih_l0"]);
    cell->bias_hh.copy_(lstm->named_parameters()["bias_hh_l0"]);
  }
  const auto x = torch::randn({2, 6, 3});  // (B, T, I)
  auto h = torch::zeros({2, 4}), c = torch::zeros({2, 4});
  for (int64_t t = 0; t < 6; ++t) std::tie(h, c) = lstm_cell_by_hand(x.select(1, t), h, c, *cell);
  const auto [output, state] = lstm->forward(x);
  EXPECT_TRUE(AllClose(h, std::get<0>(state)[0], 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(c, std::get<1>(state)[0], 1e-5, 1e-6));
}

// ---- packing and the final states ---------------------------------------------------------------

TEST_F(Packing, LastLayerTakesTheLastLayersDirectionsSideBySide) {
  const auto h_n = torch::arange(4 * 2 * 3, torch::kFloat32).reshape({4, 2, 3});  // 2 layers x 2
  const auto both = last_layer(h_n, /*directions=*/2);  // (B, 2H): rows 2 and 3 of h_n
  EXPECT_TRUE(torch::equal(both, torch::cat({h_n[2], h_n[3]}, /*dim=*/1)));
  const auto one = last_layer(h_n, /*directions=*/1);  // (B, H): row 3
  EXPECT_TRUE(torch::equal(one, h_n[3]));
}

TEST_F(Packing, EachCellMatchesPythonOnAnUnsortedPaddedBatch) {
  for (const std::string cell : {"rnn", "lstm", "gru"}) {
    const std::string name = "text_" + cell;
    auto model = golden_rnn(cell, /*layers=*/2);
    load_state(*model, golden_, name + "/inputs/");
    model->eval();
    const auto batch = golden_batch(golden_, name);
    EXPECT_TRUE(AllClose(model->final_states(batch.tokens, batch.lengths),
                         golden_.tensor(name + "/outputs/h_n"), 1e-5, 1e-6))
        << cell;
    EXPECT_TRUE(AllClose(model->forward(batch.tokens, batch.lengths),
                         golden_.tensor(name + "/outputs/logits"), 1e-5, 1e-6))
        << cell;
  }
}

TEST_F(Packing, PackedBatchGivesEachTextTheFinalStatesItHasAlone) {
  const auto tokens = (torch::arange(5 * 9).reshape({5, 9}) * 7 + 3) % 10 + 2;
  const auto lengths = torch::tensor({4, 9, 1, 6, 9}, torch::kInt64);  // not sorted
  const auto padded = torch::where(torch::arange(9) < lengths.unsqueeze(1), tokens, kPad);
  for (const std::string cell : {"rnn", "lstm", "gru"}) {
    for (const bool bidirectional : {false, true}) {
      auto model = TextRnn(
          TextRnnOptions().cell(cell).vocabulary(12).embedding(4).hidden(5).layers(2).bidirectional(
              bidirectional));
      const auto h_n = model->final_states(padded, lengths);  // (2 * directions, 5, H)
      for (int64_t i = 0; i < 5; ++i) {
        const int64_t length = lengths[i].item<int64_t>();
        const auto alone = model->final_states(padded.slice(0, i, i + 1).slice(1, 0, length),
                                               lengths.slice(0, i, i + 1));
        EXPECT_TRUE(AllClose(h_n.slice(1, i, i + 1), alone, 1e-5, 1e-6))
            << cell << (bidirectional ? " bidirectional" : "") << ", text " << i;
      }
    }
  }
}

TEST_F(Packing, WithoutPackingThePaddingWouldChangeTheFinalState) {
  // Why packing: an LSTM run over the padded batch reads the <pad> vectors after a short text.
  auto model = TextRnn(TextRnnOptions().cell("lstm").vocabulary(12).bidirectional(false));
  const auto padded = torch::tensor({5, 6, 7, 0, 0}, torch::kInt64).unsqueeze(0);
  const auto packed = model->final_states(padded, torch::tensor({3}, torch::kInt64));
  const auto unpacked = model->final_states(padded, torch::tensor({5}, torch::kInt64));
  EXPECT_GT((packed - unpacked).abs().max().item<double>(), 1e-3);
}

TEST_F(Packing, ThePadTokensVectorIsZeroAndNeverLearns) {
  auto model = golden_rnn("gru", /*layers=*/1);
  EXPECT_TRUE(torch::equal(model->embedding->weight[kPad], torch::zeros({4})));  // padding_idx
  const auto batch = golden_batch(golden_, "one_step");
  nn::functional::cross_entropy(model->forward(batch.tokens.clone().fill_(kPad), batch.lengths),
                                batch.labels)
      .backward();  // even a text read as all <pad> gives that row no gradient
  EXPECT_TRUE(torch::equal(model->embedding->weight.grad()[kPad], torch::zeros({4})));
}

TEST_F(Packing, DropoutActsOnTheFinalStatesOnlyWhileTraining) {
  auto model = golden_rnn("lstm", /*layers=*/1, /*dropout=*/0.5);
  const auto batch = golden_batch(golden_, "one_step");
  torch::NoGradGuard no_grad;
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(batch.tokens, batch.lengths),
                            model->forward(batch.tokens, batch.lengths)));
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(batch.tokens, batch.lengths),
                           model->forward(batch.tokens, batch.lengths)));
}

// ---- the baseline -------------------------------------------------------------------------------

TEST_F(Rnn, BagOfCharactersMatchesPythonAndIgnoresOrderAndPadding) {
  BagOfCharacters bag(12, 3);
  load_state(*bag, golden_, "bag/inputs/");
  const auto batch = golden_batch(golden_, "bag");
  const auto logits = bag->forward(batch.tokens, batch.lengths);
  EXPECT_TRUE(AllClose(logits, golden_.tensor("bag/outputs/logits"), 1e-5, 1e-6));
  // The same characters in another order, with more padding: the same logits.
  const auto text = batch.tokens.slice(0, 0, 1).slice(1, 0, 3);  // the first text, length 3
  const auto shuffled = torch::cat({text.flip({1}), torch::zeros({1, 6}, torch::kInt64)}, 1);
  EXPECT_TRUE(AllClose(bag->forward(shuffled, batch.lengths.slice(0, 0, 1)), logits.slice(0, 0, 1),
                       1e-5, 1e-6));
  EXPECT_EQ(course::parameter_count(*bag), 11 * 3 + 3);  // no weight for <pad>
}

// ---- training and evaluation
// ----------------------------------------------------------------------

TEST_F(Training, OneAdamStepWithClippingMatchesPython) {
  auto model = golden_rnn("lstm", /*layers=*/1);
  load_state(*model, golden_, "one_step/inputs/");
  const auto batch = golden_batch(golden_, "one_step");
  ASSERT_GT(golden_.scalar("one_step/outputs/gradient_norm"),
            golden_.scalar("one_step/inputs/clip"));  // so the clipping does something
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(golden_.scalar("one_step/inputs/lr")));
  model->train();
  model->forward(batch.tokens, batch.lengths).sum().backward();  // stale: zero_grad must clear it
  const auto result = train_step(model, optimizer, batch, golden_.scalar("one_step/inputs/clip"));
  EXPECT_NEAR(result.loss.item<double>(), golden_.scalar("one_step/outputs/loss"), 1e-5);
  EXPECT_TRUE(AllClose(result.logits, golden_.tensor("one_step/outputs/logits"), 1e-4, 1e-5));
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(
        AllClose(item.value(), golden_.tensor("one_step/outputs/state/" + item.key()), 1e-4, 1e-6))
        << item.key();
  }
}

TEST_F(Training, GradientsAreClippedToTheGivenNorm) {
  auto model = golden_rnn("lstm", /*layers=*/1);
  load_state(*model, golden_, "one_step/inputs/");
  const auto batch = golden_batch(golden_, "one_step");
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.0));  // no move
  train_step(model, optimizer, batch, /*clip=*/1e-3);
  double squares = 0;
  for (const auto& p : model->parameters()) squares += p.grad().pow(2).sum().item<double>();
  EXPECT_NEAR(std::sqrt(squares), 1e-3, 1e-5);
}

TEST_F(Training, EvaluateUsesEvalModeAndHandsTheModelBackInTrainMode) {
  auto model = golden_rnn("gru", /*layers=*/1, /*dropout=*/0.9);
  const auto batch = golden_batch(golden_, "one_step");
  const Split split{batch.tokens.repeat({60, 1}), batch.lengths.repeat({60}),
                    batch.labels.repeat({60})};  // 300 texts
  model->train();
  const double first = evaluate(model, split);
  EXPECT_TRUE(model->is_training());
  EXPECT_EQ(evaluate(model, split), first);  // no dropout: the same answer twice
  model->eval();
  torch::NoGradGuard no_grad;
  const auto predicted = model->forward(split.tokens, split.lengths).argmax(1);
  EXPECT_DOUBLE_EQ(first, predicted.eq(split.labels).to(torch::kFloat64).mean().item<double>());
  EXPECT_FALSE(model->embedding->weight.grad().defined());  // no autograd graph was built
}

TEST_F(Training, TrainLearnsWhichCharacterATextIsMadeOf) {
  // Class k: texts made of token 2 + k only, of different lengths; 3 classes, 48 texts.
  const auto labels = torch::arange(48) % 3;
  const auto lengths = 1 + torch::arange(48) % 7;
  const auto tokens = torch::where(torch::arange(7) < lengths.unsqueeze(1),
                                   (2 + labels).unsqueeze(1).expand({48, 7}), kPad);
  const Split split{tokens, lengths, labels};
  Config config;
  config.batch_size = 16;
  auto model = golden_rnn("rnn", /*layers=*/1, /*dropout=*/0.0);
  const Trained trained =
      train(model, "rnn", split, split, /*epochs=*/15, /*lr=*/0.02, config, /*log_every=*/15);
  EXPECT_EQ(trained.test_accuracy, 1.0);
  EXPECT_GT(trained.seconds, 0.0);
  BagOfCharacters bag(12, 3);
  EXPECT_EQ(train(bag, "baseline", split, split, 15, 0.1, config, 5).test_accuracy, 1.0);
}

TEST_F(Training, TrainFollowsTheCosineScheduleAsPythonDoes) {
  // Two epochs of one step each: the second step has half the learning rate (cosine at pi / 2).
  auto model = golden_rnn("lstm", /*layers=*/1);
  load_state(*model, golden_, "two_epochs/inputs/");
  const auto batch = golden_batch(golden_, "two_epochs");
  Config config;
  config.batch_size = 5;  // the whole batch in one step
  config.clip = golden_.scalar("two_epochs/inputs/clip");
  train(model, "lstm", batch, batch, /*epochs=*/2, golden_.scalar("two_epochs/inputs/lr"), config,
        /*log_every=*/2);
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(AllClose(item.value(), golden_.tensor("two_epochs/outputs/state/" + item.key()),
                         1e-4, 1e-6))
        << item.key();
  }
}

TEST_F(Training, ALossThatIsNotFiniteStopsWithAMessage) {
  auto model = golden_rnn("lstm", /*layers=*/1);
  {
    torch::NoGradGuard no_grad;
    model->head->bias.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  const auto batch = golden_batch(golden_, "one_step");
  try {
    train(model, "lstm", batch, batch, 1, 1e-3, Config(), 1);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("lower the learning rate"), std::string::npos) << e.what();
  }
}

// ---- loading the collections: the lesson's own path, through --data-dir
// ---------------------------

TEST_F(Loading, SplitsEachCollectionTheSameWayEightyTwenty) {
  Config config;
  config.collections = "alpha,beta,gamma";
  write("alpha", entries("alpha", 30));
  write("beta", entries("beta", 12));  // the smallest: 12 per collection
  const auto options = write("gamma", entries("gamma", 25, 300));
  const auto [train, test] =
      load_texts(options, config.collections, config.test_share, config.max_chars);
  ASSERT_EQ(train.size(), 3u * 10);  // round(0.2 * 12) = 2 test texts each
  ASSERT_EQ(test.size(), 3u * 2);
  std::set<std::u32string> seen;
  std::vector<int> per_label(3);
  for (const auto& text : train) {
    ++per_label[text.label];
    seen.insert(text.chars);
    EXPECT_LE(text.chars.size(), 128u);  // max_chars
  }
  EXPECT_EQ(per_label, (std::vector<int>{10, 10, 10}));
  for (const auto& text : test) EXPECT_EQ(seen.count(text.chars), 0u) << "in both splits";
  const auto beta = course::decode_utf8("beta number");
  EXPECT_EQ(test[2].chars.substr(0, beta.size()), beta);  // labels follow --collections
  torch::manual_seed(0);
  EXPECT_EQ(
      load_texts(options, config.collections, config.test_share, config.max_chars).second[0].chars,
      test[0].chars);  // seeded: the same
}

TEST_F(Loading, SmokeTakes512TextsOf64Characters) {
  Config config;
  config.collections = "one,two";
  write("one", entries("one", 300, 100));
  auto options = write("two", entries("two", 400, 100));
  options.smoke = true;
  const auto [train, test] =
      load_texts(options, config.collections, config.test_share, config.max_chars);
  EXPECT_EQ(train.size() + test.size(), 512u);
  for (const auto& text : train) EXPECT_EQ(text.chars.size(), 64u);
}

TEST_F(Loading, MissingCollectionIsNamedWithTheFixInTheMessage) {
  Config config;
  config.collections = "alpha,nowhere";
  const auto options = write("alpha", entries("alpha", 10));
  const auto message = load_error(options, config);
  EXPECT_NE(message.find("fortunes not found in --data-dir"), std::string::npos) << message;
  EXPECT_NE(message.find("nowhere"), std::string::npos) << message;
  EXPECT_NE(message.find("Debian packages fortunes"), std::string::npos) << message;
}

TEST_F(Loading, InvalidUtf8NamesTheFileAndLine) {
  Config config;
  config.collections = "alpha,latin1";
  write("alpha", entries("alpha", 10));
  const auto options = write("latin1", entries("latin1", 3) + "caf\xE9 au lait\n%\n");
  const auto message = load_error(options, config);
  EXPECT_NE(message.find("latin1: line 7: invalid UTF-8 at byte 3"), std::string::npos) << message;
}

TEST_F(Loading, ACollectionOfEmptyEntriesIsRefused) {
  Config config;
  config.collections = "alpha,blank";
  write("alpha", entries("alpha", 10));
  // Entries that are empty once the colour escapes and trailing blanks are gone.
  const auto options = write("blank", "%\n\x1b[32m\x1b[m\n%\n   \t\n\n%\n");
  const auto message = load_error(options, config);
  EXPECT_NE(message.find("blank holds no entry"), std::string::npos) << message;
}

TEST_F(Loading, CollectionsTooSmallToSplitAreRefused) {
  Config config;
  config.collections = "alpha,tiny";
  write("alpha", entries("alpha", 10));
  const auto options = write("tiny", entries("tiny", 2));  // round(0.2 * 2) = 0 test texts
  const auto message = load_error(options, config);
  EXPECT_NE(message.find("the smallest collection has 2 texts"), std::string::npos) << message;
  config.collections = "alpha";
  EXPECT_NE(load_error(options, config).find("two names or more"), std::string::npos);
}

TEST_F(Loading, TheLessonsCollectionsAreBalancedAndCut) {
  const Config config;  // art, computers, cookie, definitions, men-women from Debian's fortunes
  const auto [train, test] =
      load_texts(course::Options(), config.collections, config.test_share, config.max_chars);
  EXPECT_EQ(train.size(), 5u * 372);  // art has 465 entries: 372 + 93 of each collection
  EXPECT_EQ(test.size(), 5u * 93);
  size_t longest = 0;
  for (const auto& text : train) longest = std::max(longest, text.chars.size());
  EXPECT_EQ(longest, 128u);
  const auto vocabulary = build_vocabulary(train);
  EXPECT_GT(vocabulary.size(), 90u);  // letters, digits, punctuation, tab, newline, a few more
  EXPECT_LT(vocabulary.size(), 130u);
}
