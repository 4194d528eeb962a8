#include "lineup/cluster_evaluation.h"

#include <map>
#include <unordered_map>

namespace lineup {

namespace {
double Pairs(int64_t n) { return 0.5 * static_cast<double>(n) * static_cast<double>(n - 1); }
double Ratio(double a, double b) { return b > 0 ? a / b : 1.0; }
double F(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }
}  // namespace

ClusterScores ScoreClusters(std::span<const int64_t> truth, std::span<const int64_t> predicted) {
  ClusterScores s;
  const size_t n = std::min(truth.size(), predicted.size());
  s.items = static_cast<int64_t>(n);
  std::unordered_map<int64_t, int64_t> cluster_size, identity_size;
  std::map<std::pair<int64_t, int64_t>, int64_t> cell;  // (cluster, identity) -> items
  for (size_t i = 0; i < n; ++i) {
    ++cluster_size[predicted[i]];
    ++identity_size[truth[i]];
    ++cell[{predicted[i], truth[i]}];
  }
  s.clusters = static_cast<int64_t>(cluster_size.size());
  s.identities = static_cast<int64_t>(identity_size.size());
  double together = 0, same = 0, both = 0, bp = 0, br = 0;
  for (const auto& [c, size] : cluster_size) together += Pairs(size);
  for (const auto& [t, size] : identity_size) same += Pairs(size);
  for (const auto& [key, count] : cell) {
    both += Pairs(count);
    const double c2 = static_cast<double>(count) * static_cast<double>(count);
    bp += c2 / static_cast<double>(cluster_size[key.first]);
    br += c2 / static_cast<double>(identity_size[key.second]);
  }
  s.pairwise.precision = Ratio(both, together);
  s.pairwise.recall = Ratio(both, same);
  s.pairwise.f = F(s.pairwise.precision, s.pairwise.recall);
  if (n > 0) {
    s.bcubed.precision = bp / static_cast<double>(n);
    s.bcubed.recall = br / static_cast<double>(n);
  }
  s.bcubed.f = F(s.bcubed.precision, s.bcubed.recall);
  return s;
}

}  // namespace lineup
