// Solution of exercise 18.1: ready when full or when the oldest has waited long enough.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <vector>

using ServeClock = std::chrono::steady_clock;

struct PendingRequest {
  int64_t id;  // which caller is waiting for this answer
  ServeClock::time_point arrived;
};

std::vector<PendingRequest> take_ready_batch(std::deque<PendingRequest>& queue, int64_t max_batch,
                                             ServeClock::time_point now,
                                             std::chrono::microseconds max_wait) {
  if (queue.empty()) return {};
  const auto waiting = static_cast<int64_t>(queue.size());
  if (waiting < max_batch && now < queue.front().arrived + max_wait) return {};  // not yet
  const auto count = std::min(waiting, max_batch);
  std::vector<PendingRequest> batch(queue.begin(), queue.begin() + count);  // oldest first
  queue.erase(queue.begin(), queue.begin() + count);
  return batch;
}
