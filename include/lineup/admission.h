// Admission: what a detection must be to enter a gallery, to be shown as a lead, and to
// be decided on at all.
//
// A detector also fires on things that are not usable faces — flower prints, patterned
// clothing, hands, faces a few pixels tall — and the vectors of such patches resemble
// each other and every blurred face: enrolled, they come back as confident false leads.
// A face enters a gallery only if it is tall enough to recognise, the detector is sure of
// it, its quality score is not near zero, and the recognition network itself takes it for
// a face (Face::certainty: the length of its raw output, which is short for patterns). Faces
// that fail are listed in the enrolment report with the reason; kept on request
// (--all-faces), they are stored with the reason and never shown above a search's
// threshold. The same rules, on what the catalog keeps, stop such faces in galleries
// filled before they existed. Each default is measured in docs/accuracy.md ("Junk faces").
#pragma once

#include <string>
#include <vector>

#include "lineup/catalog.h"
#include "lineup/face.h"

namespace lineup {

struct AdmissionRules {
  // Box height in photo pixels below which a face is too small to recognise: LFW pairs
  // shrunk to boxes of 29 px still reach TAR 92.6% at FMR 1e-3, but their impostor
  // pairs match at four times the calibrated rate; at 38 px, as calibrated.
  float min_height_px = 32;
  // Detector confidence below which a box is more often a pattern than a face.
  float min_confidence = 0.9f;
  // Quality score (quality.h) below which a face is too poor to serve as a reference.
  float min_quality = 0.1f;
  // The embedding network's certainty that it sees a face (Face::certainty) below which
  // the crop is taken for a pattern, a hand or a face past recognition. Faces without
  // the measure (-1: other models) pass.
  float min_certainty = 0.65f;
  // A probe or verification face below this quality gets no decision at all: the
  // result says it cannot be decided rather than "not the same person".
  float min_decision_quality = 0.01f;
};

// Why `face` may not enter a gallery: one short reason per rule it fails, e.g. "too
// small (14 px tall, under 24)"; empty if it is admitted.
std::vector<std::string> AdmissionFailures(const Face& face, const AdmissionRules& rules = {});
// The same for a face as the catalog keeps it (no face check); its stored `excluded`
// reason counts too.
std::vector<std::string> AdmissionFailures(const FaceRecord& face, const AdmissionRules& rules = {});
// The reasons joined with "; " ("" if none).
std::string JoinReasons(const std::vector<std::string>& reasons);

}  // namespace lineup
