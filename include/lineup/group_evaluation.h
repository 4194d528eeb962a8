// Group evaluation: demographic differentials of a face model on a labelled photo set,
// in the style of NISTIR 8280 and ISO/IEC 19795-10 (protocol in ../shared/data/README.md).
//
// Every pair of labelled photos is compared once. A group's genuine pairs are the pairs of
// one person whose two photos both carry the group's label; its impostor pairs are the
// pairs of two different people whose photos both carry it (a search meets look-alikes, so
// within-group pairs are what a threshold must hold for). Pairs of two groups are counted
// apart (cross-group impostor pairs), and pairs of one person labelled with two groups are
// in no group. All groups are judged at the same global thresholds (those a calibration
// gives for chosen FMRs over all pairs). A photo without a face counts in every pair it
// is in: a genuine pair with it is a miss, an impostor pair never a false match.
//
// Confidence intervals come from resampling people (bootstrap): each group's people are
// drawn with replacement, every pair among the drawn people counted as often as its two
// people were drawn, so the spread reflects that photos of one person are not
// independent. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lineup/identification.h"
#include "lineup/status.h"

namespace lineup {

// Each photo's group: an index into `names`, or -1 where the groups file has no line for
// it (the photo is left out).
struct PhotoGroups {
  std::vector<std::string> names;  // in order of first appearance in the groups file
  std::vector<int> of_photo;       // one per photo of the identities file
  int unlabelled = 0;              // photos without a group
};

// Matches a groups file (ReadPhotoLabels) to the photos of an identities file by path.
// InvalidArgument if the groups file names a photo the identities file does not have
// (naming the first and how many: most often a wrong root), or if no photo has a group.
Result<PhotoGroups> MatchGroups(const std::vector<LabelledPhoto>& photos, const std::vector<LabelledPhoto>& groups);

struct GroupEvaluationOptions {
  // The global thresholds, each with its key ("0.001" for the FMR 1e-3 threshold).
  std::vector<std::pair<std::string, float>> thresholds;
  // Or thresholds from the evaluated pairs themselves: for each FMR target, the lowest
  // score at which at most that share of all impostor pairs (within groups and across)
  // scores at or above it; keys are the targets printed with %g. Used when not empty
  // (an adjusted score below needs thresholds of its own).
  std::vector<double> self_calibrated_fmr;
  // Label-free adjustments of the score, to measure mitigations (off by default: the
  // plain similarity, as every decision uses).
  //  - Cohort normalisation, with one mean and spread per photo (CohortStatistics):
  //    s' = ((s - mean_i) / sd_i + (s - mean_j) / sd_j) / 2.
  //  - A quality-aware threshold, with one quality per photo and a margin b: the threshold
  //    rises by b * (1 - min(q_i, q_j)), i.e. s' = s - b * (1 - min(q_i, q_j)).
  std::vector<float> cohort_mean, cohort_sd;
  std::vector<float> quality;
  float quality_margin = 0;
  int resamples = 1000;         // bootstrap resamples of people (0: no intervals)
  uint64_t seed = 20261203;
  double confidence = 0.95;     // the intervals' coverage
};

// A rate at one threshold: errors of trials, with its bootstrap interval (NaN where there
// were no trials, or no resamples).
struct RateWithInterval {
  int64_t errors = 0, trials = 0;
  double rate = 0, low = 0, high = 0;
};

struct GroupRates {
  std::string name;
  int people = 0, photos = 0, photos_without_face = 0;
  int64_t genuine_pairs = 0, impostor_pairs = 0;
  std::map<std::string, RateWithInterval> fmr, fnmr;  // by threshold key
  // The DET curve over every threshold: (fmr, fnmr) points, fmr falling; empty without
  // genuine or impostor pairs.
  std::vector<std::pair<double, double>> det;
};

// Highest group's rate divided by the lowest's at one threshold, over the groups that had
// pairs to measure; NaN if fewer than two groups had, or the lowest rate is 0. The interval
// is of the same two groups' ratio over the resamples (NaN when a resample's lowest is 0 in
// more than the interval's tails).
struct GroupRatio {
  std::string highest, lowest;
  double ratio = 0, low = 0, high = 0;
};

struct GroupEvaluation {
  std::map<std::string, float> thresholds;
  // Every labelled pair: genuine pairs of all groups, impostor pairs within and across
  // groups (name "all"; no intervals).
  GroupRates overall;
  std::vector<GroupRates> groups;  // in PhotoGroups::names order
  // Impostor pairs whose two photos are in different groups (fmr only; name "cross-group").
  GroupRates cross;
  int64_t genuine_pairs_across_groups = 0;  // one person, photos of two groups: in no group
  int unlabelled_photos = 0;
  std::map<std::string, GroupRatio> fmr_ratio, fnmr_ratio;
  int resamples = 0;
  uint64_t seed = 0;
  double confidence = 0;
};

// The score of photos i and j (indices into the evaluated lists) after the options'
// adjustments; `raw` itself without any.
float AdjustScore(const GroupEvaluationOptions& options, size_t i, size_t j, float raw);

// Evaluates the groups. vectors[i] is photo i's identity vector (empty: no face), identity[i]
// its person (>= 0), group[i] its group (index into group_names, or -1: left out).
// `progress` (optional) is called with (done, total) steps as the work goes on.
// InvalidArgument if the lists differ in length, vectors differ in dimension or hold
// non-finite values, a group index is out of range, or an option is invalid.
Result<GroupEvaluation> EvaluateGroups(const std::vector<std::vector<float>>& vectors,
                                       const std::vector<int>& identity, const std::vector<int>& group,
                                       const std::vector<std::string>& group_names,
                                       const GroupEvaluationOptions& options,
                                       const std::function<void(size_t, size_t)>& progress = {});

// Each photo's similarity to a cohort of faces, for cohort normalisation: the mean and
// standard deviation of its similarity to every cohort photo with a face (k = 0), or to the
// k most similar of them (k > 0: look-alikes only). With `side` empty the cohort of a photo
// is every other photo (as a gallery's cohort: the person's own other photos included);
// else it is the photos of the other sides (side[i] != side[j]: a reference set of other
// people, as a deployment would ship one). No group label is used. Photos without a face
// get mean 0 and sd 1.
struct CohortStatistics {
  std::vector<float> mean, sd;
};
CohortStatistics MeasureCohort(const std::vector<std::vector<float>>& vectors, const std::vector<int>& side, int k);

// The open-set 1:N protocol (identification.h) split by the probe's group: per group the
// mated searches and the share missed (FNIR), the non-mated searches and the share with a
// top candidate at or above the threshold (FPIR), at each threshold.
struct GroupSearchOutcome {
  int mated_searches = 0, mated_missed = 0;
  int non_mated_searches = 0, non_mated_above = 0;
  double fnir = 0, fpir = 0;  // NaN over no searches
};
struct GroupSearchRates {
  std::string name;
  std::map<std::string, GroupSearchOutcome> at;  // by threshold key
};
// `group` is per photo of the report's split (as EvaluateGroups'); searches of photos
// without a group are left out.
std::vector<GroupSearchRates> SplitSearchesByGroup(const IdentificationReport& report, const std::vector<int>& group,
                                                   const std::vector<std::string>& group_names,
                                                   const std::vector<std::pair<std::string, float>>& thresholds);

}  // namespace lineup
