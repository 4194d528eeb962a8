// LeadEvaluation: how often searches of a real gallery mislead, measured end to end.
//
// The scenario of a first user's complaint, reproducible on any labelled material: photos
// of a few people (one folder per person) are enrolled into a fresh gallery exactly as
// `lineup enroll --subject-from-dir` does, admission rules and all; then probe photos of
// those people (mated) and of people who are not in the gallery (non-mated) are searched
// exactly as `lineup search` does, at the default decision (a target FPIR for the
// gallery's size). It counts what an investigator would be misled by: non-mated searches
// that return any lead (to compare with the FPIR the output states), mated searches whose
// first lead is someone else, and leads whose gallery face is of unusable quality; and
// what the gallery let in or kept out. With a manifest of the real faces' boxes (the one
// bench/make_hard_set writes), enrolled detections are told apart into real faces and
// junk (patterns, hands).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lineup/admission.h"
#include "lineup/analyzer.h"
#include "lineup/status.h"

namespace lineup {

struct LeadEvaluationOptions {
  std::string gallery_dir;   // photos of the enrolled people, one folder per person
  std::string mated_dir;     // probes of enrolled people, one folder per person (same names)
  std::string nonmated_dir;  // probes of people who are not enrolled
  // Optional: the real faces' boxes, as ReadFaceManifest reads them (admission_evaluation.h).
  // A detection overlapping none is junk where the photo's labels are complete.
  std::string manifest;
  std::string work_dir;  // the gallery is built here; must not exist yet
  AnalyzerOptions analyzer;
  AdmissionRules admission;
  bool all_faces = false;  // enrol faces that fail admission too (flagged)
  double fpir = 0.01;      // the decision: target FPIR (ignored if fmr > 0)
  double fmr = 0;          // an expert's per-comparison FMR instead
  int workers = 0;
  // Hears (done, total) after each enrolled photo and each search.
  std::function<void(const std::string& stage, int64_t done, int64_t total)> progress;
};

struct LeadSearch {
  std::string probe;
  std::string person;     // "" for a non-mated probe
  bool no_face = false;
  bool undecided = false;  // the probe was below the decision quality floor
  float probe_quality = 0;
  float probe_certainty = -1;
  int leads = 0;
  std::string first_lead;  // subject of the first lead ("" if none or unlabelled)
  float first_score = 0;
  double stated_fpir = 0;  // the decision's FPIR for this gallery
  std::string rank1;       // subject of the first candidate whatever its score
  float rank1_score = 0;
};

struct LeadEvaluation {
  // The gallery.
  int64_t gallery_photos = 0, images_enrolled = 0, faces_enrolled = 0, faces_flagged = 0, faces_left_out = 0;
  std::map<std::string, int64_t> left_out_by_rule;  // the first words of each failed rule
  int64_t real_enrolled = -1, junk_enrolled = -1;   // with a manifest (-1 without)
  int64_t real_left_out = -1, junk_left_out = -1;
  // Searches.
  int64_t nonmated = 0, nonmated_no_face = 0, nonmated_with_lead = 0;
  double stated_fpir = 0;  // the FPIR the outputs stated (mean over searches)
  int64_t mated = 0, mated_no_face = 0, mated_right_first = 0, mated_wrong_first = 0, mated_rank1_right = 0;
  int64_t undecided = 0;
  int64_t leads = 0, leads_low_quality = 0, leads_junk = -1;  // low quality: gallery face quality < 0.1
  float threshold = 0;
  int64_t gallery_size = 0;
  std::vector<LeadSearch> searches;
};

Result<LeadEvaluation> EvaluateLeads(const LeadEvaluationOptions& options);

}  // namespace lineup
