#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lineup/admission_evaluation.h"
#include "lineup/identification.h"

namespace lineup {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> SplitTabs(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string c; std::getline(ss, c, sep);) out.push_back(c);
  return out;
}

float Iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// The rules one at a time, as admission.cc applies them together.
bool FailsSize(const Face& f, const AdmissionRules& r) { return f.box.height < r.min_height_px; }
bool FailsConfidence(const Face& f, const AdmissionRules& r) { return f.confidence < r.min_confidence; }
bool FailsQuality(const Face& f, const AdmissionRules& r) { return f.quality.score < r.min_quality; }
bool FailsCertainty(const Face& f, const AdmissionRules& r) { return f.certainty >= 0 && f.certainty < r.min_certainty; }

}  // namespace

Result<std::vector<LabelledFaces>> ReadFaceManifest(const std::string& tsv) {
  std::ifstream in(tsv);
  if (!in) return Status::NotFound(tsv + ": cannot open the manifest");
  const fs::path base = fs::path(tsv).parent_path();
  std::vector<LabelledFaces> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto cols = SplitTabs(line, '\t');
    if (cols.size() < 4) return Status::InvalidArgument(tsv + ":" + std::to_string(n) + ": fewer than four columns");
    if (n == 1 && cols[0] == "path") continue;
    LabelledFaces l;
    l.path = (base / cols[0]).string();
    l.kind = cols[1];
    if (!cols[3].empty() && cols[3] != "-") {
      for (const auto& f : SplitTabs(cols[3], ';')) {
        float x, y, w, h;
        if (std::sscanf(f.c_str(), "%f,%f,%f,%f", &x, &y, &w, &h) != 4 || !(w > 0 && h > 0))
          return Status::InvalidArgument(tsv + ":" + std::to_string(n) + ": a face box is \"x,y,w,h\", not \"" + f + "\"");
        l.faces.push_back({x, y, w, h});
      }
    }
    // Photos copied from LFW unchanged may show people behind the listed one.
    l.complete = l.kind != "gallery" && l.kind != "mated_probe" && l.kind != "nonmated_probe" && l.kind != "blurred";
    out.push_back(std::move(l));
  }
  if (out.empty()) return Status::InvalidArgument(tsv + ": no photos listed");
  return out;
}

Result<std::vector<LabelledFaces>> ReadBoxList(const std::string& csv, const std::string& root) {
  std::ifstream in(csv);
  if (!in) return Status::NotFound(csv + ": cannot open the box list");
  std::map<std::string, LabelledFaces> by_image;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (n == 1 && line.rfind("image,", 0) == 0)) continue;
    auto cols = SplitTabs(line, ',');
    if (cols.size() < 6) return Status::InvalidArgument(csv + ":" + std::to_string(n) + ": fewer than six fields");
    LabelledFaces& l = by_image[cols[0]];
    l.path = (fs::path(root) / cols[0]).string();
    l.kind = "labelled";
    try {
      l.faces.push_back({std::stof(cols[2]), std::stof(cols[3]), std::stof(cols[4]), std::stof(cols[5])});
    } catch (...) {
      return Status::InvalidArgument(csv + ":" + std::to_string(n) + ": a box needs four numbers");
    }
  }
  std::vector<LabelledFaces> out;
  for (auto& [name, l] : by_image) out.push_back(std::move(l));
  if (out.empty()) return Status::InvalidArgument(csv + ": no boxes listed");
  return out;
}

Result<std::vector<LabelledFaces>> LfwCentralFaces(const std::string& identities_tsv, const std::string& root,
                                                  int every_nth) {
  auto photos = ReadIdentities(identities_tsv, root);
  if (!photos.ok()) return photos.status();
  std::vector<LabelledFaces> out;
  for (size_t i = 0; i < photos->size(); i += static_cast<size_t>(std::max(every_nth, 1))) {
    LabelledFaces l;
    l.path = (*photos)[i].path;
    l.kind = "lfw";
    l.central = true;
    l.complete = false;
    out.push_back(std::move(l));
  }
  return out;
}

Result<AdmissionEvaluation> EvaluateAdmission(const std::vector<LabelledFaces>& photos, const AnalyzerOptions& analyzer,
                                              const AdmissionRules& rules, int workers,
                                              const std::function<void(int64_t, int64_t)>& progress) {
  std::vector<std::string> paths;
  for (const auto& p : photos) {
    std::error_code ec;
    if (!fs::is_regular_file(p.path, ec)) return Status::NotFound(p.path + ": no such photo (is the root folder right?)");
    paths.push_back(p.path);
  }
  AdmissionEvaluation out;
  out.photos = static_cast<int64_t>(photos.size());
  const std::vector<std::pair<std::string, bool (*)(const Face&, const AdmissionRules&)>> checks = {
      {"size", FailsSize}, {"confidence", FailsConfidence}, {"quality", FailsQuality}, {"certainty", FailsCertainty}};
  int64_t done = 0;
  Status s = AnalyzeFiles(analyzer, paths, true, workers, [&](size_t i, PhotoAnalysis&& r) {
    if (progress) progress(++done, out.photos);
    const LabelledFaces& l = photos[i];
    if (!r.status.ok()) {
      ++out.unreadable;
      return;
    }
    // Which detection is which known face (the best overlap each), the rest junk.
    std::vector<int> real(r.faces.size(), 0);
    if (l.central) {
      const int k = PickFace(r.faces, {r.width, r.height}, FacePick::kCentral);
      if (k >= 0) real[static_cast<size_t>(k)] = 1;
      else ++out.real_missed;
    }
    for (const cv::Rect2f& known : l.faces) {
      int best = -1;
      float best_iou = 0.3f;
      for (size_t k = 0; k < r.faces.size(); ++k)
        if (const float v = Iou(known, r.faces[k].box); v >= best_iou && !real[k]) best = static_cast<int>(k), best_iou = v;
      if (best >= 0) real[static_cast<size_t>(best)] = 1;
      else ++out.real_missed;
    }
    for (size_t k = 0; k < r.faces.size(); ++k) {
      if (!real[k] && !l.complete) continue;  // someone in the background, or not: unknown
      const Face& f = r.faces[k];
      bool any = false;
      auto count = [&](const std::string& rule, bool fails) {
        for (AdmissionCount* c : {&out.by_rule[rule], &out.by_kind[l.kind][rule]}) {
          (real[k] ? c->real : c->junk) += 1;
          (real[k] ? c->real_left_out : c->junk_left_out) += fails;
        }
      };
      for (const auto& [rule, fails] : checks) {
        const bool f_rule = fails(f, rules);
        any |= f_rule;
        count(rule, f_rule);
      }
      count("all", any);
    }
  });
  if (!s.ok()) return s;
  if (out.unreadable > 0)
    return Status::InvalidArgument(std::to_string(out.unreadable) + " of " + std::to_string(out.photos) +
                                   " photos could not be read; nothing is reported from them");
  return out;
}

}  // namespace lineup
