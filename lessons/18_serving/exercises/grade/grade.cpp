// Grades lesson 18's exercises against exercises/golden.json (written by exercises/golden.py).
// cmake/CourseExercises.cmake compiles this file twice: with the learner's exercise files on the
// include path, and with exercises/solutions/ instead. One test suite per exercise: Ex18_1, ...
// No server, no threads, no exported model: the batching decisions and a stand-in linear model.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "18.1_take_batch.cpp"
#include "18.2_answer_batch.cpp"
#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {
const Golden& golden() {
  static const Golden file("18_serving/exercises");
  return file;
}

const ServeClock::time_point kStart{};  // time 0 of a scenario
ServeClock::time_point at_us(int64_t us) {
  return kStart + std::chrono::microseconds(us);
}

std::vector<int64_t> ids_of(const std::vector<PendingRequest>& requests) {
  std::vector<int64_t> ids;
  for (const auto& r : requests) ids.push_back(r.id);
  return ids;
}

// One scenario of golden.py: the queue it describes, take_ready_batch on it, and the checks.
void check_scenario(const std::string& name, const std::string& what) {
  const std::string in = "take_batch/inputs/" + name + "/";
  const auto arrived = golden().tensor(in + "arrived_us");  // (n) int64, oldest first
  std::deque<PendingRequest> queue;
  std::vector<int64_t> all_ids;
  for (int64_t i = 0; i < arrived.size(0); ++i) {
    queue.push_back({100 + i, at_us(arrived[i].item<int64_t>())});
    all_ids.push_back(100 + i);
  }
  const auto max_batch = static_cast<int64_t>(golden().scalar(in + "max_batch"));
  const auto max_wait =
      std::chrono::microseconds(static_cast<int64_t>(golden().scalar(in + "max_wait_us")));
  const auto now = at_us(static_cast<int64_t>(golden().scalar(in + "now_us")));
  const auto taken = static_cast<size_t>(golden().scalar("take_batch/outputs/" + name + "/taken"));

  const auto batch = take_ready_batch(queue, max_batch, now, max_wait);
  const std::vector<int64_t> want_batch(all_ids.begin(), all_ids.begin() + taken);
  const std::vector<int64_t> want_left(all_ids.begin() + taken, all_ids.end());
  std::vector<int64_t> left;
  for (const auto& r : queue) left.push_back(r.id);
  EXPECT_EQ(ids_of(batch), want_batch) << what << " (" << name << ": " << arrived.size(0)
                                       << " waiting, max_batch " << max_batch << ")";
  EXPECT_EQ(left, want_left) << "the requests not taken stay in the queue, oldest first (" << name
                             << ")";
}
}  // namespace

TEST(Ex18_1, NotReadyYet) {
  std::deque<PendingRequest> empty;
  EXPECT_TRUE(take_ready_batch(empty, 4, at_us(0), std::chrono::microseconds(2000)).empty())
      << "an empty queue gives no batch";
  check_scenario("still_waiting",
                 "3 requests of a batch of 4, the oldest waited 1.5 ms of 2: wait, take nothing");
}

TEST(Ex18_1, FullBatches) {
  check_scenario("full", "6 waiting and max_batch 4: the oldest 4 go now, without waiting");
  check_scenario("exactly_full", "4 waiting and max_batch 4: the batch is full, it goes now");
}

TEST(Ex18_1, TheDeadline) {
  check_scenario("at_the_deadline",
                 "the oldest request has waited exactly max_wait: the 3 waiting go now, not full");
  check_scenario("overdue_and_many",
                 "10 waiting past the deadline: still at most max_batch (4) in one batch");
  check_scenario("batching_off", "max_batch 1 and max_wait 0 is batching off: one request at once");
}

TEST(Ex18_2, OneForwardPassAndOneAnswerPerImage) {
  const auto images = golden().tensor("answer_batch/inputs/images");  // (5, 1, 4, 4)
  const auto weight = golden().tensor("answer_batch/inputs/weight");  // (16, 10)
  std::vector<std::vector<int64_t>> calls;                            // shapes the model saw
  const auto model = [&](const torch::Tensor& x) {
    calls.push_back(x.sizes().vec());
    return x.flatten(1).matmul(weight);  // (B, 10) logits
  };
  const auto answers = answer_batch(std::vector<torch::Tensor>(images.unbind(0)), model);
  EXPECT_EQ(calls, (std::vector<std::vector<int64_t>>{{5, 1, 4, 4}}))
      << "the model should run once, on all 5 images stacked into (5, 1, 4, 4) (torch::stack)";
  ASSERT_EQ(answers.size(), 5u) << "one answer per image";
  const auto probabilities = golden().tensor("answer_batch/outputs/probabilities");  // (5, 10)
  const auto labels = golden().tensor("answer_batch/outputs/labels");
  const auto probability = golden().tensor("answer_batch/outputs/probability");
  for (int64_t i = 0; i < 5; ++i) {
    const auto& answer = answers[static_cast<size_t>(i)];
    EXPECT_TRUE(answer.probabilities.defined() &&
                AllClose(answer.probabilities, probabilities[i], 1e-5, 1e-6))
        << "answer " << i << "'s probabilities should be the softmax of row " << i
        << " of the logits: ten numbers that sum to 1";
    EXPECT_EQ(answer.label, labels[i].item<int64_t>())
        << "answer " << i << "'s label is the index of its largest probability";
    EXPECT_NEAR(answer.probability, probability[i].item<double>(), 1e-5)
        << "answer " << i << "'s probability is the probability of its label";
  }
}

TEST(Ex18_2, ABatchOfOne) {
  const auto images = golden().tensor("answer_batch/inputs/images");
  const auto weight = golden().tensor("answer_batch/inputs/weight");
  int calls = 0;
  const auto answers = answer_batch({images[3]}, [&](const torch::Tensor& x) {
    ++calls;
    return x.flatten(1).matmul(weight);
  });
  EXPECT_EQ(calls, 1) << "a batch of one image is one forward pass too";
  ASSERT_EQ(answers.size(), 1u) << "one image, one answer";
  EXPECT_EQ(answers[0].label, golden().tensor("answer_batch/outputs/labels")[3].item<int64_t>())
      << "an image alone gets the same answer as in a batch of five (the rows do not mix)";
}
