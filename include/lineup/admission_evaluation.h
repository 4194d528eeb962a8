// AdmissionEvaluation: what each admission rule (admission.h) costs and buys, measured on
// labelled photos: how many real faces it keeps out of a gallery, and how many junk
// detections (patterns, hands, things that are not faces) it stops.
//
// Every photo is analysed as enrolment analyses it (the default pipeline, with
// embeddings, so the network's certainty is known), and each detection is labelled by
// the photo's known face boxes: a detection overlapping a known face (intersection over
// union >= 0.3) is that real face; one that overlaps none is junk where the labels are
// complete (a pattern, a labelled set), and uncounted where they are not (a photo of
// which only the central face is known: LFW's backgrounds hold real people).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/admission.h"
#include "lineup/analyzer.h"
#include "lineup/status.h"

namespace lineup {

// One labelled photo.
struct LabelledFaces {
  std::string path;
  std::string kind;                // a group name for the report ("lfw", "pattern", ...)
  std::vector<cv::Rect2f> faces;   // the real faces known in it
  bool complete = true;            // every real face is listed: any other detection is junk
  // The real face is the detection nearest the photo's centre (LFW's convention), and
  // nothing else is known (then faces is empty and complete false).
  bool central = false;
};

// Reads labels: a manifest as bench/make_hard_set writes it (path kind identity faces
// ...; paths relative to the manifest's folder), a box list as dlib's set has it
// (`image,split,x,y,w,h,ignore,...`, images in `root`), or LFW's photos by an identities
// TSV (only the central face known: its box is the one nearest the centre; incomplete).
Result<std::vector<LabelledFaces>> ReadFaceManifest(const std::string& tsv);
Result<std::vector<LabelledFaces>> ReadBoxList(const std::string& csv, const std::string& root);
Result<std::vector<LabelledFaces>> LfwCentralFaces(const std::string& identities_tsv, const std::string& root,
                                                  int every_nth = 1);

struct AdmissionCount {
  int64_t real = 0, real_left_out = 0;  // real faces detected, and of them left out
  int64_t junk = 0, junk_left_out = 0;  // junk detections, and of them left out
};

struct AdmissionEvaluation {
  int64_t photos = 0, unreadable = 0;
  int64_t real_missed = 0;  // known faces no detection found (not the rules' doing)
  // Per rule alone ("size", "confidence", "quality", "certainty") and all together ("all"),
  // overall and per kind.
  std::map<std::string, AdmissionCount> by_rule;
  std::map<std::string, std::map<std::string, AdmissionCount>> by_kind;  // kind -> rule -> count
};

// Analyses every photo on `workers` pipelines (0: one per core).
Result<AdmissionEvaluation> EvaluateAdmission(const std::vector<LabelledFaces>& photos, const AnalyzerOptions& analyzer,
                                              const AdmissionRules& rules, int workers,
                                              const std::function<void(int64_t done, int64_t total)>& progress = {});

}  // namespace lineup
