// Grades lesson 20's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex20_1, ...
// One process, no process group: the ranks are simulated (their shards, their gradients).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "20.1_shard_indices.cpp"
#include "20.2_bucket_average.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("20_distributed/exercises");
  return file;
}

// "{3, 1, 4}": a 1-d integer tensor, for the messages.
std::string listed(const torch::Tensor& t) {
  std::string text;
  const auto values = t.to(torch::kInt64).contiguous();
  for (int64_t i = 0; i < values.numel(); ++i)
    text += (i == 0 ? "" : ", ") + std::to_string(values.data_ptr<int64_t>()[i]);
  return "{" + text + "}";
}

// Every rank's shard of one golden.py case against Python's DistributedSampler.
void check_shards(const std::string& name, const std::string& what) {
  const auto order = golden().tensor(name + "/inputs/order");  // (N) int64
  const auto world = static_cast<int64_t>(golden().scalar(name + "/inputs/world_size"));
  const bool drop_last = golden().scalar(name + "/inputs/drop_last") == 1;
  for (int64_t rank = 0; rank < world; ++rank) {
    const auto expected = golden().tensor(name + "/outputs/rank" + std::to_string(rank));
    const auto shard = shard_indices(order, rank, world, drop_last);
    EXPECT_TRUE(shard.sizes() == expected.sizes() && torch::equal(shard, expected))
        << what << ": rank " << rank << " of " << world << " should get " << listed(expected)
        << ", got " << listed(shard) << " (order " << listed(order) << ")";
  }
}

// rank_grads[r][p] from golden.json: 3 ranks, 4 parameters.
std::vector<std::vector<torch::Tensor>> rank_gradients() {
  std::vector<std::vector<torch::Tensor>> grads(3);
  for (int r = 0; r < 3; ++r)
    for (int p = 0; p < 4; ++p)
      grads[r].push_back(
          golden().tensor("buckets/inputs/rank" + std::to_string(r) + "/grad" + std::to_string(p)));
  return grads;
}

// The buckets as "bucket index of each parameter", to compare with golden.py's.
torch::Tensor bucket_of_each(const std::vector<std::vector<size_t>>& buckets) {
  std::vector<int64_t> index;
  for (size_t b = 0; b < buckets.size(); ++b)
    for (size_t i = 0; i < buckets[b].size(); ++i) index.push_back(static_cast<int64_t>(b));
  return torch::tensor(index, torch::kInt64);
}
}  // namespace

TEST(Ex20_1, DropLast) {
  check_shards("n10_w3_drop",
               "10 images on 3 ranks, drop_last: every 3rd index of the first 9, from position "
               "`rank` (strided, not blocks)");
}

TEST(Ex20_1, PaddedToAMultipleOfW) {
  check_shards("n12_w4_pad", "12 images on 4 ranks: no padding needed, 3 each, strided");
  check_shards("n10_w3_pad",
               "10 images on 3 ranks without drop_last: the order padded to 12 with its first 2 "
               "indices, then every 3rd from `rank`");
}

TEST(Ex20_1, FewerImagesThanRanks) {
  check_shards("n2_w4_pad",
               "2 images on 4 ranks without drop_last: the order repeated to 4, one index each");
}

TEST(Ex20_2, EveryRankEndsWithTheMean) {
  auto grads = rank_gradients();
  const auto held = grads;  // the same tensors, as an optimizer would hold them
  average_in_buckets(grads, 64);
  for (int p = 0; p < 4; ++p) {
    const auto mean = golden().tensor("buckets/outputs/grad" + std::to_string(p));
    for (int r = 0; r < 3; ++r) {
      EXPECT_TRUE(AllClose(held[r][p], mean, 1e-5, 1e-6))
          << "rank " << r << "'s gradient of parameter " << p
          << " should be the mean over the 3 ranks (the all-reduce sums: divide by W), written "
             "in place into the tensor it already had (copy_)";
    }
  }
}

TEST(Ex20_2, Buckets) {
  for (const auto& [name, what] : std::vector<std::pair<std::string, std::string>>{
           {"cap64", "parameters of 48, 12, 32, 20 bytes in buckets of 64: {0, 1} and {2, 3}"},
           {"cap16",
            "buckets of 16 bytes: each parameter alone (a larger one gets its own bucket, and no "
            "bucket is empty)"},
           {"cap1mb", "buckets of 1 MiB: all four parameters in one bucket"}}) {
    auto grads = rank_gradients();
    const auto buckets =
        average_in_buckets(grads, static_cast<int64_t>(golden().scalar("buckets/inputs/" + name)));
    const auto expected = golden().tensor("buckets/outputs/" + name);
    const auto got = bucket_of_each(buckets);
    EXPECT_TRUE(got.sizes() == expected.sizes() && torch::equal(got, expected))
        << what << "; bucket of each parameter expected " << listed(expected) << ", got "
        << listed(got);
    EXPECT_TRUE(AllClose(grads[1][2], golden().tensor("buckets/outputs/grad2"), 1e-5, 1e-6))
        << "whatever the bucket size, rank 1's gradient of parameter 2 ends as the mean";
  }
}
