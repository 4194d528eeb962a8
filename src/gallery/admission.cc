#include "lineup/admission.h"

#include <cstdio>

namespace lineup {

namespace {
std::string Fmt(const char* f, double a, double b) {
  char buf[96];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

void CheckCommon(float height, float confidence, float quality, const AdmissionRules& r, std::vector<std::string>* out) {
  if (height < r.min_height_px) out->push_back(Fmt("too small (%.0f px tall, under %g)", height, r.min_height_px));
  if (confidence < r.min_confidence)
    out->push_back(Fmt("uncertain detection (confidence %.3g, under %g)", confidence, r.min_confidence));
  if (quality < r.min_quality) out->push_back(Fmt("unusable quality (%.2g, under %g)", quality, r.min_quality));
}
}  // namespace

std::vector<std::string> AdmissionFailures(const Face& face, const AdmissionRules& rules) {
  std::vector<std::string> out;
  CheckCommon(face.box.height, face.confidence, face.quality.score, rules, &out);
  if (face.certainty >= 0 && face.certainty < rules.min_certainty)
    out.push_back(Fmt("not recognisable as a face (network certainty %.2g, under %g)", face.certainty,
                      rules.min_certainty));
  return out;
}

std::vector<std::string> AdmissionFailures(const FaceRecord& face, const AdmissionRules& rules) {
  std::vector<std::string> out;
  if (!face.excluded.empty()) out.push_back(face.excluded);
  else CheckCommon(face.box.height, face.confidence, face.quality, rules, &out);
  return out;
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string s;
  for (const auto& r : reasons) s += (s.empty() ? "" : "; ") + r;
  return s;
}

}  // namespace lineup
