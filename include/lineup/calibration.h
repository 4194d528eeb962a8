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

#include <nlohmann/json.hpp>

#include "lineup/embedder.h"
#include "lineup/status.h"

namespace lineup {

// The decision of one search: candidates scoring at or above `threshold` are shown as
// leads. A search is judged by its false-positive identification rate (FPIR): the chance
// that a search for someone who is not in the gallery returns any candidate at or above
// the threshold. Comparing a probe with N faces gives N chances of a false match, so a
// threshold fixed per comparison lets almost every search of a large gallery return a
// false lead; the default is therefore a target FPIR turned into a threshold for this
// gallery's size N.
//
// Where the calibration measured real searches (SearchCurve), the threshold comes from
// them: the best impostor score of searches of B faces, B <= N, extended to N faces as
// N/B independent searches. Real searches are not N independent comparisons: a probe
// that resembles one stranger tends to resemble others, and a search meets look-alikes
// (same sex, age, ethnicity) more often than the average impostor pair does. Where the
// calibration measured searches per demographic group of the probe, each group's FPIR at
// the threshold is stated beside it (the threshold itself holds the target for all
// probes: no group is inferred at search time). Beyond what searches measured, the
// per-comparison rates are used as if independent, FMR = 1 - (1 - FPIR)^(1/N).
struct SearchThreshold {
  double target_fpir = 0;  // what was asked for; 0 when an expert set the FMR instead
  double fmr = 0;          // per comparison, at `threshold`
  float threshold = 0;
  int64_t gallery_size = 0;
  // FPIR this threshold gives a search of gallery_size faces, over all probes. Equals
  // target_fpir unless the calibration ran out (below).
  double fpir = 0;
  // The size of the measured searches the FPIR was extended from; 1 when it comes from
  // per-comparison rates taken as independent.
  int64_t searched_faces = 1;
  // Per demographic group of the probe where the calibration measured them (e.g.
  // {"female", 0.014}, {"male", 0.009}), and the group with the highest.
  std::vector<std::pair<std::string, double>> group_fpir;
  std::string worst_group;
  // Per demographic group where the calibration measured them (GroupCurve): the FMR of one
  // comparison at `threshold` among impostor pairs within the group, e.g. {"female",
  // 3.6e-4}, and the group with the highest. A look-alike comparison is within a group, so
  // the worst group's rate is the honest per-comparison rate beside `fmr` (which counts
  // every impostor pair, most of them of two groups). Where a group's rate at the threshold
  // is below what was measured, its lowest measured rate is given, as an upper bound, and
  // group_fmr_bounded says so.
  std::vector<std::pair<std::string, double>> group_fmr;
  std::string worst_fmr_group;
  bool group_fmr_bounded = false;
  // How the model's error rates differ between groups at `threshold`, with the sentence
  // every front end shows (DifferentialsJson, differentials.h); null without group curves.
  nlohmann::json differentials;
  // The FPIR needed was below the lowest rate the calibration measured: the most
  // conservative measured threshold is used, and `fpir` says what it gives (more than
  // the target).
  bool beyond_calibration = false;
  // One sentence for people, e.g. "threshold 0.5871: FPIR 1% for a search of 4,909
  // faces (measured on searches of 3,000 faces; female 1%, male 0.42%)"; for an expert's
  // FMR, the worst group's within-group FMR follows ("...; within female pairs 3.6e-4").
  std::string Describe() const;
};

// FPIR as measured: the share of non-mated searches of `faces` gallery faces (faces of
// other identities) whose best score is at or above a threshold, from `searches` such
// searches. The probe's group is `group` ("" for all probes).
struct SearchCurve {
  std::string group;
  int64_t faces = 0;
  int64_t searches = 0;
  // (fpir, threshold) points, fpir falling and threshold rising, down to where at least
  // ten searches were above.
  std::vector<std::pair<double, float>> points;
};

// Per-comparison rates within one demographic group, measured on its own pairs: impostor
// pairs whose two photos are both in the group, and its genuine pairs. A search compares a
// probe with look-alikes (same sex, age, ...) more often than the average impostor pair
// does; these curves say what a threshold gives among them.
struct GroupCurve {
  std::string group;
  int64_t impostor_comparisons = 0;
  int64_t genuine_comparisons = 0;
  // (fmr, threshold) points as Calibration::points, down to where at least ten impostor
  // pairs of the group were above.
  std::vector<std::pair<double, float>> points;
  // (threshold, fnmr): the share of the group's genuine pairs below each threshold, at
  // thresholds kGroupFnmrStep apart over the scores' range (see FromHistograms).
  std::vector<std::pair<float, double>> fnmr;

  // The FMR at `score`, interpolated in log(FMR); above the last point that point's rate
  // (an upper bound: lower rates were not measured).
  double FmrAt(float score) const;
  // Whether `score` lies within the measured points (FmrAt is then an estimate, not a bound).
  bool MeasuredAt(float score) const { return !points.empty() && score <= points.back().second; }
  // The FNMR at `score`, interpolated linearly between thresholds; NaN without genuine pairs.
  double FnmrAt(float score) const;
  static GroupCurve FromHistograms(const std::string& group, const std::vector<int64_t>& impostor,
                                   const std::vector<int64_t>& genuine);
};
inline constexpr float kGroupFnmrStep = 0.01f;

// Measures search curves on labelled vectors (unit length, row-major n x dim): every
// vector is searched, as a probe, against the others of different identity in a fixed
// pseudo-random order cut into consecutive blocks of each size in `faces` (blocks that
// run past the end are dropped). With `group` (one label per vector, -1 for none, named
// by `group_names`) each group's probes also get their own curves. Deterministic.
std::vector<SearchCurve> MeasureSearchCurves(const float* vectors, int n, int dim, const std::vector<int>& identity,
                                             const std::vector<int>& group, const std::vector<std::string>& group_names,
                                             const std::vector<int64_t>& faces);

// The FPIR of a search of `gallery_size` faces whose comparisons each have false-match
// rate `fmr` (taken as independent): 1 - (1 - fmr)^N.
double FpirOf(double fmr, int64_t gallery_size);

struct Calibration {
  std::string model_id;
  std::string dataset;
  std::string command;                 // how it was made, for re-running
  std::string sha256;                  // of the file it was loaded from ("" if made here)
  int64_t impostor_comparisons = 0;
  int64_t genuine_comparisons = 0;
  // (fmr, threshold) points, fmr falling and threshold rising; a comparison scoring
  // >= threshold is a match at that fmr.
  std::vector<std::pair<double, float>> points;
  // Genuine comparisons at or above each point's threshold (true match rate).
  std::vector<double> tmr;
  // Measured searches, by group ("" first) and size; may be empty (older files).
  std::vector<SearchCurve> search_curves;
  // Per-comparison rates within each demographic group; may be empty (older files).
  std::vector<GroupCurve> group_curves;
  std::string group_curves_command;  // how they were made, if not by `command`

  // The threshold for a target FMR, interpolated in log(FMR). InvalidArgument if the
  // target is outside (0, 1) or below what was measured.
  Result<float> ThresholdFor(double fmr) const;
  // The estimated FMR of a single comparison scoring `score`, interpolated in log(FMR).
  double FmrAt(float score) const;
  // The FPIR of a candidate scoring `score` in a search of `gallery_size` faces: the
  // chance that a search for someone absent scores this high. From the measured searches
  // as SearchThreshold says (all probes), else FpirOf(FmrAt(score), gallery_size).
  double FpirAt(float score, int64_t gallery_size) const;
  // The threshold holding a target FPIR for a search of `gallery_size` faces (see
  // SearchThreshold; at the calibration's limit, its most conservative threshold).
  // InvalidArgument unless 0 < fpir < 1.
  Result<SearchThreshold> ForSearch(double fpir, int64_t gallery_size) const;
  // The threshold for an expert's per-comparison FMR, with the FPIR it implies for a
  // search of `gallery_size` faces. InvalidArgument if fmr is outside (0, 1) or below
  // what was measured.
  Result<SearchThreshold> ForComparison(double fmr, int64_t gallery_size) const;
  double FmrFloor() const { return impostor_comparisons > 0 ? 1.0 / impostor_comparisons : 1.0; }

  // The calibration as Save writes it (and `lineup calibrate --json` prints it).
  nlohmann::json ToJson() const;
  Status Save(const std::string& path) const;
  static Result<Calibration> Load(const std::string& path);
  // calibration/<model id>.json in $LINEUP_CALIBRATION or the source tree.
  static std::string PathFor(const EmbeddingModel& model);
  static Result<Calibration> ForModel(const EmbeddingModel& model);

  // Builds a calibration from score histograms (see ScoreHistogram).
  static Calibration FromHistograms(const std::vector<int64_t>& impostor, const std::vector<int64_t>& genuine);
  // The (rate, threshold) points of a histogram of `total` scores: rates 10^(-k/4) from
  // `highest` down to where fewer than ten scores are at or above.
  static std::vector<std::pair<double, float>> RatePoints(const std::vector<int64_t>& histogram, double highest);
};

// Scores in [-1, 1] counted into this many bins of equal width.
inline constexpr int kHistogramBins = 20000;
int HistogramBin(float score);
float HistogramBinLow(int bin);

}  // namespace lineup
