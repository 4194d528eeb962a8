// The HTML report of a gallery search: the probe face beside each candidate's face,
// with score, FPIR, quality and provenance, in one self-contained file (pictures
// embedded) that an analyst can open anywhere without the tool.
#pragma once

#include <string>
#include <vector>

#include "lineup/face.h"
#include "lineup/gallery.h"
#include "lineup/status.h"

namespace lineup::cli {

struct ReportCandidate {
  Candidate candidate;
  std::string thumbnail;  // the gallery's thumbnail of the face, "" to crop the original
  double fpir = 0;
  bool above_threshold = false;
};

struct SearchReport {
  std::string probe_path;  // empty for a vector search
  cv::Rect2f probe_box;
  float probe_quality = 0;
  std::vector<std::string> probe_reasons;
  std::vector<std::string> warnings;
  int64_t gallery_size = 0;
  bool ranked_by_cohort = false;  // Gallery::RankedByCohort
  double fmr = 0;
  float threshold = 0;
  std::string model;
  std::vector<ReportCandidate> candidates;
};

Status WriteSearchReport(const std::string& path, const SearchReport& report);

}  // namespace lineup::cli
