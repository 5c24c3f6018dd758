// Exercise 18.1: when is a dynamic batch ready, and which requests go in it?
//
// Lesson 18's Batcher keeps waiting requests in a queue, oldest first. Its worker runs a batch
// when max_batch requests are waiting, or when the oldest has waited max_wait, whichever comes
// first; then it takes at most max_batch from the front and leaves the rest for the next batch.
// Write take_ready_batch(queue, max_batch, now, max_wait), the decision without threads or
// clocks (the worker would call it whenever it wakes up):
//   - queue empty, or fewer than max_batch waiting and now < front().arrived + max_wait:
//     not ready, return {} and leave the queue as it is
//   - otherwise return the first min(queue.size(), max_batch) requests, oldest first, and remove
//     them from the queue (at exactly front().arrived + max_wait the oldest has waited enough)
// max_batch 1 and max_wait 0 is batching off: every request alone, at once.
// Python (reference.py):  jobs, deadline = [first], first.arrived + max_wait
//                         while len(jobs) < max_batch: jobs.append(queue.get(timeout=...))
//
// Check it: ./course check 18.1     A hint: ./course hint 18.1
#include <torch/torch.h>

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
  // TODO: replace these lines with your code (they take every request at once).
  std::vector<PendingRequest> everything(queue.begin(), queue.end());
  queue.clear();
  return everything;
}
