// Grades lesson 10's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex10_1, ...
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "10.1_lstm_step.cpp"
#include "10.2_packed_final_state.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("10_rnn/exercises");
  return file;
}

torch::Tensor lstm_input(const std::string& name) {
  return golden().tensor("lstm_step/inputs/" + name);
}

// A GRU(4, 5, batch_first) with Python's weights (weight_ih_l0, ...).
torch::nn::GRU golden_gru() {
  torch::nn::GRU gru(torch::nn::GRUOptions(4, 5).batch_first(true));
  torch::NoGradGuard no_grad;
  for (auto& item : gru->named_parameters()) {
    item.value().copy_(golden().tensor("packed_final_state/inputs/" + item.key()));
  }
  return gru;
}
}  // namespace

TEST(Ex10_1, MatchesPythonsLstmCell) {
  const auto [h_next, c_next] =
      lstm_step(lstm_input("x"), lstm_input("h"), lstm_input("c"), lstm_input("weight_ih"),
                lstm_input("weight_hh"), lstm_input("bias_ih"), lstm_input("bias_hh"));
  EXPECT_TRUE(AllClose(c_next, golden().tensor("lstm_step/outputs/c_next"), 1e-4, 1e-5))
      << "c_next should be f * c + i * g, with the gates cut from the (B, 4H) matmul in the "
         "order i, f, g, o (sigmoid for i, f, o; tanh for g), as Python's nn.LSTMCell";
  EXPECT_TRUE(AllClose(h_next, golden().tensor("lstm_step/outputs/h_next"), 1e-4, 1e-5))
      << "h_next should be o * tanh(c_next), as Python's nn.LSTMCell";
}

TEST(Ex10_1, AClosedForgetGateForgets) {
  // One input, H = 1, no weights: every gate's pre-activation is its bias. A forget gate of
  // sigmoid(-100) = 0 drops the old memory; an input gate of 1 writes tanh(g) = tanh(0.5).
  const auto zero = torch::zeros({1, 1});
  const auto bias = torch::tensor({100.0F, -100.0F, 0.5F, 100.0F});  // i, f, g, o
  const auto [h_next, c_next] =
      lstm_step(zero, zero, torch::full({1, 1}, 7.0F), torch::zeros({4, 1}), torch::zeros({4, 1}),
                bias, torch::zeros({4}));
  EXPECT_NEAR(c_next.item<double>(), std::tanh(0.5), 1e-5)
      << "with the forget gate shut (f = 0) and the input gate open (i = 1), c_next should be the "
         "candidate tanh(0.5), none of the old memory 7: the gates come in the order i, f, g, o";
  EXPECT_NEAR(h_next.item<double>(), std::tanh(std::tanh(0.5)), 1e-5)
      << "with the output gate open (o = 1), h_next should be tanh(c_next)";
}

TEST(Ex10_2, MatchesPythonsPackedGru) {
  torch::nn::GRU gru = golden_gru();
  const auto vectors = golden().tensor("packed_final_state/inputs/vectors");  // (3, 6, 4)
  const auto lengths = golden().tensor("packed_final_state/inputs/lengths");  // {6, 2, 4}
  torch::NoGradGuard no_grad;
  const auto final = packed_final_state(gru, vectors, lengths);
  EXPECT_TRUE(AllClose(final, golden().tensor("packed_final_state/outputs/final"), 1e-4, 1e-5))
      << "each row should be the text's hidden state after its own last character (6, 2 and 4 "
         "steps), as Python's GRU gives it for pack_padded_sequence(..., enforce_sorted=False); "
         "a GRU run over the padding gets only the longest text right";
}

TEST(Ex10_2, EachRowIsItsOwnTextAlone) {
  torch::nn::GRU gru = golden_gru();
  const auto vectors = golden().tensor("packed_final_state/inputs/vectors");
  const auto lengths = torch::tensor({3, 5, 1}, torch::kInt64);
  torch::NoGradGuard no_grad;
  const auto final = packed_final_state(gru, vectors, lengths);
  ASSERT_EQ(final.sizes(), torch::IntArrayRef({3, 5})) << "the result should be (B, H) = (3, 5)";
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = lengths[b].item<int64_t>();
    const auto alone = vectors[b].slice(0, 0, n).unsqueeze(0);  // (1, n, 4): no padding at all
    const auto expected = std::get<1>(gru->forward(alone))[-1][0];
    EXPECT_TRUE(AllClose(final[b], expected, 1e-4, 1e-5))
        << "row " << b << " should equal the GRU's state after reading text " << b << "'s first "
        << n << " steps alone, in the batch's order (lengths 3, 5, 1)";
  }
}
