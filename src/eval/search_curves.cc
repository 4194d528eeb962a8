// MeasureSearchCurves (lineup/calibration.h): what non-mated searches of B faces really
// score, measured by searching every labelled vector against the others.
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include <opencv2/core.hpp>

#include "lineup/calibration.h"

namespace lineup {

std::vector<SearchCurve> MeasureSearchCurves(const float* vectors, int n, int dim, const std::vector<int>& identity,
                                             const std::vector<int>& group, const std::vector<std::string>& group_names,
                                             const std::vector<int64_t>& faces) {
  std::vector<SearchCurve> out;
  if (n < 2 || dim <= 0 || identity.size() != static_cast<size_t>(n)) return out;
  const bool grouped = group.size() == static_cast<size_t>(n) && !group_names.empty();
  const size_t ngroups = grouped ? group_names.size() : 0;
  // One fixed order of the gallery for every probe: a block is the same set of faces for
  // all probes, apart from the probe's own identity, which is skipped.
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(20261202);
  std::shuffle(order.begin(), order.end(), rng);
  cv::Mat all(n, dim, CV_32F, const_cast<float*>(vectors));
  cv::Mat shuffled(n, dim, CV_32F);
  std::vector<int> shuffled_id(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    all.row(order[static_cast<size_t>(i)]).copyTo(shuffled.row(i));
    shuffled_id[static_cast<size_t>(i)] = identity[static_cast<size_t>(order[static_cast<size_t>(i)])];
  }
  const size_t nsizes = faces.size();
  // hist[size][g]: g = 0 for all probes, 1 + group otherwise.
  std::vector<std::vector<std::vector<int64_t>>> hist(
      nsizes, std::vector<std::vector<int64_t>>(1 + ngroups, std::vector<int64_t>(kHistogramBins, 0)));
  std::vector<int64_t> count(nsizes);
  std::vector<float> best(nsizes);
  const int rows = 256;
  cv::Mat s;
  for (int r0 = 0; r0 < n; r0 += rows) {
    const int r1 = std::min(n, r0 + rows);
    cv::gemm(all.rowRange(r0, r1), shuffled, 1.0, cv::Mat(), 0.0, s, cv::GEMM_2_T);
    for (int r = r0; r < r1; ++r) {
      const float* row = s.ptr<float>(r - r0);
      const int id = identity[static_cast<size_t>(r)];
      const int g = grouped && group[static_cast<size_t>(r)] >= 0 ? 1 + group[static_cast<size_t>(r)] : 0;
      std::fill(count.begin(), count.end(), 0);
      std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
      for (int c = 0; c < n; ++c) {
        if (shuffled_id[static_cast<size_t>(c)] == id) continue;
        for (size_t k = 0; k < nsizes; ++k) {
          best[k] = std::max(best[k], row[c]);
          if (++count[k] == faces[k]) {
            const size_t bin = static_cast<size_t>(HistogramBin(best[k]));
            hist[k][0][bin]++;
            if (g > 0) hist[k][static_cast<size_t>(g)][bin]++;
            count[k] = 0;
            best[k] = -std::numeric_limits<float>::infinity();
          }
        }
      }
    }
  }
  for (size_t g = 0; g <= ngroups; ++g) {
    for (size_t k = 0; k < nsizes; ++k) {
      SearchCurve c;
      c.group = g == 0 ? "" : group_names[g - 1];
      c.faces = faces[k];
      for (auto v : hist[k][g]) c.searches += v;
      c.points = Calibration::RatePoints(hist[k][g], 0.5);
      if (!c.points.empty()) out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace lineup
