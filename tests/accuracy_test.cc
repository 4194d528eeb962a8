// Accuracy guard: verification accuracy on a fixed 600-pair sample of LFW's
// pairs.txt must not fall more than one percentage point below what it was measured at.
//
// The sample is every 10th line of pairs.txt (pairs 0, 10, 20, ...), which keeps all
// ten folds and their fold labels, 30 genuine and 30 impostor pairs per fold. Each
// photo is analysed once with the default AnalyzerOptions on two worker pipelines;
// the face is chosen with FacePick::kCentral (LFW's convention), and a photo with no
// face scores NaN (a non-match), as the protocol says.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lineup/analyzer.h"
#include "lineup/evaluation.h"
#include "test_util.h"

namespace {

// Measured by running this test (Release build, default AnalyzerOptions: pyramid
// detector, single landmark pass, fr_feature fed BGR, 2 workers): 10-fold mean accuracy
// 99.17% +- 0.83 (595 of 600 pairs right; AUC 0.9994, EER 0.67%, no photo without a
// face), identical over repeated runs. With RGB input (the default until 2026-11-27) it
// measured 99.33% +- 0.82, EER 0.83%: one pair either way, while on all 6,000 pairs BGR
// is better (docs/accuracy.md). The guard allows one percentage point below it. If a
// deliberate change moves the figure, re-measure and update this constant with the new
// printed value.
constexpr double kMeasuredAccuracy = 0.9917;
constexpr double kAllowedDrop = 0.010;

TEST(Accuracy, LfwSampleOf600Pairs) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw");
  auto all = lineup::ReadLfwPairs(lfw + "/pairs.txt", lfw + "/images");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 6000u);
  std::vector<lineup::LabelledPair> pairs;
  for (size_t i = 0; i < all->size(); i += 10) pairs.push_back((*all)[i]);
  ASSERT_EQ(pairs.size(), 600u);

  std::map<std::string, size_t> index;
  std::vector<std::string> photos;
  for (const auto& p : pairs)
    for (const std::string* path : {&p.a, &p.b})
      if (index.emplace(*path, photos.size()).second) photos.push_back(*path);

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<float>> vecs(photos.size());
  int unreadable = 0, no_face = 0;
  lineup::Status s = lineup::AnalyzeFiles(lineup::AnalyzerOptions{}, photos, true, 2,
                                          [&](size_t i, lineup::PhotoAnalysis&& r) {
                                            if (!r.status.ok()) {
                                              ++unreadable;
                                              return;
                                            }
                                            int k = lineup::PickFace(r.faces, {r.width, r.height},
                                                                     lineup::FacePick::kCentral);
                                            if (k < 0) {
                                              ++no_face;
                                              return;
                                            }
                                            vecs[i] = std::move(r.faces[static_cast<size_t>(k)].embedding);
                                          });
  ASSERT_TRUE(s.ok()) << s.ToString();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(unreadable, 0) << "every LFW photo of the sample must be readable";

  std::vector<float> scores;
  for (const auto& p : pairs) {
    const auto &a = vecs[index[p.a]], &b = vecs[index[p.b]];
    if (a.empty() || b.empty()) {
      scores.push_back(std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    float d = 0;
    for (size_t k = 0; k < a.size(); ++k) d += a[k] * b[k];
    scores.push_back(d);
  }
  lineup::VerificationReport r = lineup::EvaluateVerification(pairs, scores);
  std::printf("LFW sample: %zu pairs, %zu photos in %.1f s; accuracy %.2f%% +- %.2f, TAR@FAR1e-2 %.2f%%, AUC %.4f, "
              "EER %.2f%%, photos without a face %d\n",
              pairs.size(), photos.size(), secs, 100 * r.accuracy_mean, 100 * r.accuracy_std,
              100 * r.tar_at_far["0.01"], r.auc, 100 * r.eer, no_face);
  RecordProperty("accuracy_mean", std::to_string(r.accuracy_mean));
  EXPECT_EQ(r.pairs, 600);
  EXPECT_EQ(r.genuine, 300);
  EXPECT_EQ(r.fold_accuracy.size(), 10u);
  EXPECT_GE(r.accuracy_mean, kMeasuredAccuracy - kAllowedDrop)
      << "verification accuracy fell from the measured " << 100 * kMeasuredAccuracy << "%";
  EXPECT_LE(no_face, 6) << "more than 1% of the sample's photos without a face";
}

}  // namespace
