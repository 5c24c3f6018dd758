// Grades lesson 12's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex12_1, ...
#include <gtest/gtest.h>

#include "12.1_causal_attention.cpp"
#include "12.2_kv_cache_attention.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;
using torch::indexing::Slice;

namespace {
const Golden& golden() {
  static const Golden file("12_transformer/exercises");
  return file;
}

// Positions from..to-1 of a (B, H, T, D) tensor. Python: x[:, :, from:to]
torch::Tensor positions(const torch::Tensor& x, int64_t from, int64_t to) {
  return x.index({Slice(), Slice(), Slice(from, to)});
}
}  // namespace

TEST(Ex12_1, MatchesScaledDotProductAttention) {
  const auto q = golden().tensor("attention/inputs/q");  // (2, 2, 5, 4)
  const auto k = golden().tensor("attention/inputs/k");
  const auto v = golden().tensor("attention/inputs/v");
  EXPECT_TRUE(AllClose(causal_attention(q, k, v), golden().tensor("attention/outputs/out")))
      << "causal_attention should equal Python's F.scaled_dot_product_attention(q, k, v, "
         "is_causal=True): softmax(q k^T / sqrt(D), with -inf above the diagonal) v";
}

TEST(Ex12_1, TheFutureDoesNotLeak) {
  const auto q = golden().tensor("attention/inputs/q");
  const auto k = golden().tensor("attention/inputs/k");
  const auto v = golden().tensor("attention/inputs/v");
  const auto before = causal_attention(q, k, v);
  // Change the key and the value of the last position (4) only.
  auto k2 = k.clone(), v2 = v.clone();
  k2.index_put_({Slice(), Slice(), 4}, 3.0);
  v2.index_put_({Slice(), Slice(), 4}, -5.0);
  const auto after = causal_attention(q, k2, v2);
  EXPECT_TRUE(AllClose(positions(after, 0, 4), positions(before, 0, 4)))
      << "changing position 4's key and value must not move the outputs of positions 0-3: "
         "a position sees only itself and the positions before it";
  EXPECT_FALSE(AllClose(positions(after, 4, 5), positions(before, 4, 5)))
      << "position 4 sees itself, so its own output does change";
}

TEST(Ex12_2, PromptThenOneTokenAtATime) {
  const auto q = golden().tensor("attention/inputs/q");  // (2, 2, 5, 4): 5 positions
  const auto k = golden().tensor("attention/inputs/k");
  const auto v = golden().tensor("attention/inputs/v");
  const auto full = golden().tensor("attention/outputs/out");  // causal attention over all 5
  AttentionCache cache;
  const auto prompt = attend_with_cache(positions(q, 0, 3), positions(k, 0, 3), positions(v, 0, 3),
                                        cache);  // positions 0-2 at once
  EXPECT_TRUE(AllClose(prompt, positions(full, 0, 3)))
      << "the prompt (3 positions, empty cache) attends causally, as full causal attention does";
  ASSERT_TRUE(cache.keys.defined() && cache.values.defined())
      << "after the prompt the cache holds its keys and values";
  EXPECT_EQ(cache.keys.size(2), 3) << "after a prompt of 3 positions the cache holds 3 keys";
  for (int64_t t = 3; t < 5; ++t) {
    const auto out = attend_with_cache(positions(q, t, t + 1), positions(k, t, t + 1),
                                       positions(v, t, t + 1), cache);
    EXPECT_TRUE(AllClose(out, positions(full, t, t + 1)))
        << "the new token at position " << t << " attends to all " << t + 1
        << " cached positions with no mask: its output is row " << t << " of full attention";
    EXPECT_EQ(cache.keys.size(2), t + 1) << "each call appends one key to the cache (dim 2)";
  }
  EXPECT_TRUE(AllClose(cache.values, v)) << "the cache ends with the values of all 5 positions";
}

TEST(Ex12_2, FromAnEmptyCacheOneTokenAtATime) {
  const auto q = golden().tensor("attention/inputs/q");
  const auto k = golden().tensor("attention/inputs/k");
  const auto v = golden().tensor("attention/inputs/v");
  const auto full = golden().tensor("attention/outputs/out");
  AttentionCache cache;
  for (int64_t t = 0; t < 5; ++t) {
    const auto out = attend_with_cache(positions(q, t, t + 1), positions(k, t, t + 1),
                                       positions(v, t, t + 1), cache);
    EXPECT_TRUE(AllClose(out, positions(full, t, t + 1)))
        << "fed one position at a time from an empty cache, position " << t
        << " gives the same output as full causal attention";
  }
  ASSERT_TRUE(cache.keys.defined()) << "the cache holds the keys of the positions seen";
  EXPECT_TRUE(AllClose(cache.keys, k)) << "the cache ends with the keys of all 5 positions";
}
