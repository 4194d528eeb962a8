// Identification: open-set 1:N search accuracy, in the style of NIST's FRTE 1:N.
//
// A labelled photo set (image_relpath<TAB>identity) is split by the LFW 1:N protocol
// (docs/accuracy.md, ../shared/data/README.md): the people with two or more photos are
// sorted by name (byte order); those at even positions (0, 2, 4, ...) are enrolled with
// their first photo by file name and searched with each of their other photos (mated
// searches); those at odd positions are not enrolled and every photo of theirs is
// searched (non-mated searches); every person with a single photo is enrolled as a
// distractor. On LFW: a gallery of 4,909 faces, 4,173 mated and 4,151 non-mated searches.
//
// Scoring is exact: every search is compared with every enrolled face (inner product of
// the unit vectors). Candidates are gallery entries, best first; a mate tied with a
// non-mate counts as ranked behind it (ties never help). Rates have the protocol's
// searches as denominators, whatever failed along the way:
//   - a gallery photo with no face is not enrolled (failures_to_enrol); the searches of
//     that person stay mated searches and all miss;
//   - a mated search with no face is a miss at every rank and threshold;
//   - a non-mated search with no face has no candidate, so it is never a false positive.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

struct LabelledPhoto {
  std::string path;      // root joined with the file's relative path (absolute paths kept)
  std::string identity;
};

// Reads an identities TSV: one "image_relpath<TAB>identity" line per photo; a first line
// "image_relpath<TAB>identity" is a header, and empty lines and lines starting with '#'
// are skipped; CRLF line ends are accepted. Errors (InvalidArgument, naming file:line):
// a line without exactly two non-empty fields, a NUL byte, a path listed twice, no photos.
// NotFound if the file cannot be opened.
Result<std::vector<LabelledPhoto>> ReadIdentities(const std::string& tsv_file, const std::string& root);
// The same for any label of a photo, e.g. a groups TSV ("image_relpath<TAB>group", as
// ../shared/data/lfw/groups_gender.tsv): `column` names the label in the header and in
// errors; the label is returned in LabelledPhoto::identity.
Result<std::vector<LabelledPhoto>> ReadPhotoLabels(const std::string& tsv_file, const std::string& root,
                                                   const std::string& column);

struct IdentificationSplit {
  std::vector<std::string> identities;  // every person considered, sorted by name
  std::vector<int> labels;              // per photo: index into identities, -1 if left out
  std::vector<size_t> gallery;          // photos enrolled: one per enrolled person
  std::vector<size_t> mated;            // searches whose person is enrolled
  std::vector<size_t> non_mated;        // searches whose person is not enrolled
  int enrolled_people = 0;    // people with 2+ photos at even positions
  int unenrolled_people = 0;  // people with 2+ photos at odd positions
  int distractors = 0;        // people with one photo
};

// Splits photos by the protocol above. limit_people > 0 keeps only the first
// limit_people people by name (all of them, whatever their photo count) for a quick
// run; their other photos get label -1. InvalidArgument if the split would have no
// mated or no non-mated search (fewer than two people with two or more photos).
Result<IdentificationSplit> BuildIdentificationSplit(const std::vector<LabelledPhoto>& photos, int limit_people = 0);

struct IdentificationOptions {
  int max_rank = 50;                               // CMC from rank 1 to this
  std::vector<double> fpir_targets = {0.1, 0.01, 0.001};
  // Score normalisation, off by default (plain similarities are what `lineup search`
  // reports). "as-norm": adaptive symmetric normalisation with the gallery as cohort:
  //   s' = ((s - mu_p) / sd_p + (s - mu_g) / sd_g) / 2
  // where mu_p, sd_p are the mean and deviation of the probe's cohort_k best scores
  // against the gallery after its best one, and mu_g, sd_g those of the gallery entry's
  // cohort_k best scores against the other gallery entries. Needs no labels.
  std::string score_norm;  // "" or "as-norm"
  int cohort_k = 100;
  // How candidates are ordered when score_norm is "": "cohort" ranks them, as the
  // gallery's search does, by their similarity normalised against the enrolled faces
  // (Cohort, once at least Cohort::kMinFaces are enrolled; plain similarity below that),
  // while thresholds still apply to the top candidate's plain similarity; "raw" ranks by
  // plain similarity.
  std::string ranking = "cohort";
};

struct DetPoint {
  double fpir = 0, fnir = 0;
  float threshold = 0;
};

// One search's outcome (per-search detail for reports).
struct SearchOutcome {
  size_t photo = 0;
  bool mated = false;
  bool has_face = false;
  int rank = 0;                 // mated: the mate's rank (1 = top), 0 if never found
  float mate_score = 0;         // mated and found: the mate's score (what thresholds apply to)
  float top_score = 0;          // the top candidate's score (if has_face and gallery not empty)
  long long top_photo = -1;     // the top candidate's photo index, -1 if none
};

struct IdentificationReport {
  int gallery_size = 0;          // photos the protocol enrols
  int gallery_enrolled = 0;      // of those, enrolled (a face was found)
  int failures_to_enrol = 0;     // gallery photos with no face
  int mated_searches = 0, non_mated_searches = 0;
  int mated_without_face = 0;    // mated searches with no face (misses)
  int mated_not_enrolled = 0;    // mated searches whose mate has no face (misses)
  int non_mated_without_face = 0;
  double rank1 = 0, rank5 = 0;   // shares of mated searches with the mate at rank <= 1, 5
  std::vector<double> cmc;       // cmc[r - 1]: share with the mate at rank <= r
  // Keys are the targets printed with %g ("0.1", "0.01", "0.001"). The threshold is the
  // lowest score at which no more than floor(target * non_mated_searches) non-mated
  // searches have a top candidate at or above it (chosen on the non-mated top scores);
  // fpir_actual is the rate reached there.
  std::map<std::string, double> fnir_at_fpir, fpir_actual;
  std::map<std::string, float> threshold_at_fpir;
  std::vector<DetPoint> det;     // every distinct non-mated top score as threshold, falling
  std::vector<SearchOutcome> searches;  // mated ones first, in split order
  std::string score_norm;        // the normalisation used ("" none)
  std::string ranking;           // "cohort" or "raw": what ordered the candidates
};

// Every search decided at one threshold: FPIR, the share of non-mated searches whose top
// candidate scores at or above it, and FNIR, the share of mated searches whose mate is
// not the top candidate at or above it (the protocol's denominators, as above).
struct ThresholdOutcome {
  double fpir = 0, fnir = 0;
  int non_mated_above = 0;  // searches behind fpir
};
ThresholdOutcome AtThreshold(const IdentificationReport& report, float threshold);

// Scores the split. vectors[i] is photo i's identity vector (as Embedder gives it), empty where no
// face was found (a vector missing at the end of the list counts as no face); labels[i]
// its person (equal labels are the same person; every photo the split names needs one
// >= 0). Rates over an empty set of searches are NaN. InvalidArgument if the vectors
// differ in length or hold non-finite values, a split photo has no label, or an option
// is invalid.
Result<IdentificationReport> EvaluateIdentification(const std::vector<std::vector<float>>& vectors,
                                                    const std::vector<int>& labels, const IdentificationSplit& split,
                                                    const IdentificationOptions& options = {});

}  // namespace lineup
