// Evaluation: verification accuracy on labelled pairs of photos, by the LFW protocol.
//
// Pairs come from LFW's pairs.txt or from a TSV (path_a, path_b, same[, fold]). Each
// photo is analysed once; a pair with a photo where no face was found still counts, as
// a non-match, and is reported as a failure to enrol. Accuracy is the mean and standard
// deviation over 10 folds, each fold's threshold chosen on the other nine.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

struct LabelledPair {
  std::string a, b;  // photo paths
  bool same = false;
  int fold = 0;      // 0..9
};

// LFW pairs.txt: "10 300" then per fold 300 "name i j" and 300 "name1 i name2 j"
// lines; photos are <root>/<name>/<name>_<i as 4 digits>.jpg.
Result<std::vector<LabelledPair>> ReadLfwPairs(const std::string& pairs_file, const std::string& root);
// TSV of path_a, path_b, same (1/0, true/false, same/different) and optional fold;
// relative paths are taken from the TSV's folder; without folds, 10 by line position.
// A first line "path_a<TAB>path_b<TAB>..." is a header and skipped.
Result<std::vector<LabelledPair>> ReadPairsTsv(const std::string& tsv_file);

struct RocPoint { double far, tar; float threshold; };

struct VerificationReport {
  int pairs = 0, genuine = 0, impostor = 0;
  int failures_to_enrol = 0;     // photos with no face found
  int pairs_without_face = 0;    // pairs scored as non-matches for that reason
  double accuracy_mean = 0, accuracy_std = 0;
  std::vector<double> fold_accuracy;
  std::vector<float> fold_threshold;
  std::map<std::string, double> tar_at_far;        // "0.01", "0.001"
  std::map<std::string, float> threshold_at_far;
  double auc = 0, eer = 0;
  std::vector<RocPoint> roc;
};

// Scores the pairs; scores[i] is the similarity of pairs[i], NaN where a photo had
// no face (counted as a non-match, as is a pair beyond the end of `scores`).
VerificationReport EvaluateVerification(const std::vector<LabelledPair>& pairs, const std::vector<float>& scores);

}  // namespace lineup
