#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "lineup/evaluation.h"

namespace lineup {

namespace {
// Pairs scored NaN (no face) are non-matches at every threshold.
float Effective(float s) { return std::isnan(s) ? -2.0f : s; }

// The threshold maximising accuracy on `idx`: candidates are midpoints between
// consecutive distinct scores.
float BestThreshold(const std::vector<LabelledPair>& pairs, const std::vector<float>& s, const std::vector<size_t>& idx) {
  std::vector<std::pair<float, bool>> v;
  for (size_t i : idx) v.push_back({Effective(s[i]), pairs[i].same});
  std::sort(v.begin(), v.end());
  int total_gen = 0;
  for (auto& e : v) total_gen += e.second;
  // Threshold below v[0]: everything is "same": correct = genuine count.
  int correct = total_gen, best = correct;
  float best_t = v.empty() ? 0 : v[0].first - 1e-4f;
  for (size_t k = 0; k < v.size(); ++k) {
    correct += v[k].second ? -1 : 1;  // v[k] moves below the threshold
    if (k + 1 < v.size() && v[k + 1].first == v[k].first) continue;
    if (correct > best) {
      best = correct;
      best_t = k + 1 < v.size() ? 0.5f * (v[k].first + v[k + 1].first) : v[k].first + 1e-4f;
    }
  }
  return best_t;
}
}  // namespace

VerificationReport EvaluateVerification(const std::vector<LabelledPair>& pairs, const std::vector<float>& given) {
  VerificationReport r;
  // A pair without a score is a pair without a face: a non-match.
  std::vector<float> scores(given.begin(), given.begin() + static_cast<std::ptrdiff_t>(std::min(given.size(), pairs.size())));
  scores.resize(pairs.size(), NAN);
  r.pairs = static_cast<int>(pairs.size());
  std::vector<float> gen, imp;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (std::isnan(scores[i])) r.pairs_without_face++;
    (pairs[i].same ? gen : imp).push_back(Effective(scores[i]));
  }
  r.genuine = static_cast<int>(gen.size());
  r.impostor = static_cast<int>(imp.size());

  for (int f = 0; f < 10; ++f) {
    std::vector<size_t> train, test;
    for (size_t i = 0; i < pairs.size(); ++i) (pairs[i].fold == f ? test : train).push_back(i);
    if (test.empty()) continue;
    float t = BestThreshold(pairs, scores, train);
    int ok = 0;
    for (size_t i : test) ok += (Effective(scores[i]) >= t) == pairs[i].same;
    r.fold_threshold.push_back(t);
    r.fold_accuracy.push_back(double(ok) / test.size());
  }
  if (!r.fold_accuracy.empty()) {
    double n = static_cast<double>(r.fold_accuracy.size());
    r.accuracy_mean = std::accumulate(r.fold_accuracy.begin(), r.fold_accuracy.end(), 0.0) / n;
    double var = 0;
    for (double a : r.fold_accuracy) var += (a - r.accuracy_mean) * (a - r.accuracy_mean);
    r.accuracy_std = std::sqrt(var / n);
  }

  // ROC over all pairs: sweep thresholds from high to low.
  std::sort(gen.begin(), gen.end(), std::greater<>());
  std::sort(imp.begin(), imp.end(), std::greater<>());
  if (gen.empty() || imp.empty()) return r;
  size_t gi = 0, ii = 0;
  r.roc.push_back({0, 0, 1.0f});
  double auc = 0, prev_far = 0, prev_tar = 0;
  while (gi < gen.size() || ii < imp.size()) {
    // An exhausted list never sets the threshold (scores may lie anywhere: adjusted ones leave [-1, 1]).
    constexpr float kNone = -std::numeric_limits<float>::infinity();
    float t = std::max(gi < gen.size() ? gen[gi] : kNone, ii < imp.size() ? imp[ii] : kNone);
    while (gi < gen.size() && gen[gi] >= t) ++gi;
    while (ii < imp.size() && imp[ii] >= t) ++ii;
    double far = double(ii) / imp.size(), tar = double(gi) / gen.size();
    auc += (far - prev_far) * (tar + prev_tar) / 2;
    prev_far = far;
    prev_tar = tar;
    r.roc.push_back({far, tar, t});
  }
  r.auc = auc;
  // EER: where FAR - FRR changes sign, interpolated linearly between the two steps.
  r.eer = 1;
  for (size_t k = 1; k < r.roc.size(); ++k) {
    double d1 = r.roc[k].far - (1 - r.roc[k].tar);
    if (d1 >= 0) {
      double d0 = r.roc[k - 1].far - (1 - r.roc[k - 1].tar);
      double t = d1 > d0 ? -d0 / (d1 - d0) : 1;
      r.eer = r.roc[k - 1].far + t * (r.roc[k].far - r.roc[k - 1].far);
      break;
    }
  }
  for (double target : {1e-2, 1e-3}) {
    // The threshold admitting at most target*impostors impostors: strictly above the
    // (k+1)-th highest impostor score.
    size_t k = static_cast<size_t>(std::floor(target * imp.size()));
    float t = k < imp.size() ? std::nextafter(imp[k], 2.0f) : -2.0f;
    size_t tp = 0;
    while (tp < gen.size() && gen[tp] >= t) ++tp;
    std::string key = target == 1e-2 ? "0.01" : "0.001";
    r.tar_at_far[key] = double(tp) / gen.size();
    r.threshold_at_far[key] = t;
  }
  return r;
}

}  // namespace lineup
