// Solution of exercise 16.2: sort once, then the middle and the nearest rank.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

struct LatencySummary {
  double median_ms = 0;
  double p99_ms = 0;
};

LatencySummary latency_summary(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  const double median = n % 2 == 1 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  const auto rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(n)));  // 1-based
  return {median, ms[rank - 1]};
}
