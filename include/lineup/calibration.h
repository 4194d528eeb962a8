// Calibration: the similarity thresholds that hold a chosen false-match rate (FMR),
// measured on real impostor comparisons, and the FMR to expect at any score.
//
// A calibration belongs to one embedding model and setting (EmbeddingModel::Id) and
// is stored as JSON in calibration/ with the dataset and the number of comparisons it
// was measured on. Rates below the lowest measured point are not known; FmrAt says so
// by never returning less than that point's rate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lineup/embedder.h"
#include "lineup/status.h"

namespace lineup {

struct Calibration {
  std::string model_id;
  std::string dataset;
  std::string command;                 // how it was made, for re-running
  int64_t impostor_comparisons = 0;
  int64_t genuine_comparisons = 0;
  // (fmr, threshold) points, fmr falling and threshold rising; a comparison scoring
  // >= threshold is a match at that fmr.
  std::vector<std::pair<double, float>> points;
  // Genuine comparisons at or above each point's threshold (true match rate).
  std::vector<double> tmr;

  // The threshold for a target FMR, interpolated in log(FMR). InvalidArgument if the
  // target is outside (0, 1) or below what was measured.
  Result<float> ThresholdFor(double fmr) const;
  // The estimated FMR of a single comparison scoring `score`, interpolated in log(FMR).
  double FmrAt(float score) const;
  double FmrFloor() const { return impostor_comparisons > 0 ? 1.0 / impostor_comparisons : 1.0; }

  Status Save(const std::string& path) const;
  static Result<Calibration> Load(const std::string& path);
  // calibration/<model id>.json in $LINEUP_CALIBRATION or the source tree.
  static std::string PathFor(const EmbeddingModel& model);
  static Result<Calibration> ForModel(const EmbeddingModel& model);

  // Builds a calibration from score histograms (see ScoreHistogram).
  static Calibration FromHistograms(const std::vector<int64_t>& impostor, const std::vector<int64_t>& genuine);
};

// Scores in [-1, 1] counted into this many bins of equal width.
inline constexpr int kHistogramBins = 20000;
int HistogramBin(float score);
float HistogramBinLow(int bin);

}  // namespace lineup
