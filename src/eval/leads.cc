#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lineup/admission_evaluation.h"
#include "lineup/calibration.h"
#include "lineup/gallery.h"
#include "lineup/image.h"
#include "lineup/investigations.h"
#include "lineup/lead_evaluation.h"

namespace lineup {

namespace fs = std::filesystem;

namespace {

// The labelled photos by absolute, normalised path.
using Manifest = std::map<std::string, LabelledFaces>;

std::string Normal(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

// 1 if `box` of a face in `photo` is one of the manifest's real faces (IoU >= 0.3), 0 if
// it is junk (the photo's real faces are all listed), -1 if unknown.
int IsReal(const Manifest& m, const std::string& photo, const cv::Rect2f& box) {
  auto it = m.find(Normal(photo));
  if (it == m.end()) return -1;
  for (const cv::Rect2f& r : it->second.faces) {
    const float inter = (r & box).area();
    if (inter / (r.area() + box.area() - inter) >= 0.3f) return 1;
  }
  return it->second.complete ? 0 : -1;
}

Status NeedDir(const std::string& dir, const char* what) {
  std::error_code ec;
  if (dir.empty()) return Status::InvalidArgument(std::string(what) + " is needed");
  if (!fs::is_directory(dir, ec)) return Status::NotFound(dir + ": no such folder (" + what + ")");
  return Status::OK();
}

}  // namespace

Result<LeadEvaluation> EvaluateLeads(const LeadEvaluationOptions& o) {
  for (auto [dir, what] : {std::pair{&o.gallery_dir, "the gallery photos"}, std::pair{&o.mated_dir, "the mated probes"},
                           std::pair{&o.nonmated_dir, "the non-mated probes"}})
    if (Status s = NeedDir(*dir, what); !s.ok()) return s;
  Manifest manifest;
  if (!o.manifest.empty()) {
    auto m = ReadFaceManifest(o.manifest);
    if (!m.ok()) return m.status();
    for (LabelledFaces& l : *m) manifest[Normal(l.path)] = std::move(l);
  }
  std::error_code ec;
  if (o.work_dir.empty() || fs::exists(o.work_dir, ec))
    return Status::InvalidArgument("the work folder must be given and must not exist yet (" + o.work_dir + ")");
  if (Status s = Gallery::Init(o.work_dir); !s.ok()) return s;
  auto g = Gallery::Open(o.work_dir, o.analyzer);
  if (!g.ok()) return g.status();
  Gallery& gallery = **g;
  SourceRecord src;
  src.name = "evaluation";
  src.legal_basis = "evaluation on research photos";
  if (Status s = gallery.catalog().AddSource(&src); !s.ok()) return s;

  LeadEvaluation out;
  auto photos = ListPhotos({o.gallery_dir});
  if (!photos.ok()) return photos.status();
  out.gallery_photos = static_cast<int64_t>(photos->size());
  EnrollOptions eo;
  eo.source = src.name;
  eo.subject_from_dir = true;
  eo.admission = o.admission;
  eo.all_faces = o.all_faces;
  eo.workers = o.workers;
  const int64_t total = out.gallery_photos;
  auto rep = gallery.Enroll(*photos, eo, [&](int64_t done, const EnrollReport&) {
    if (o.progress) o.progress("enrolling", done, total);
  });
  if (!rep.ok()) return rep.status();
  out.images_enrolled = rep->enrolled;
  out.faces_enrolled = rep->faces - rep->flagged;
  out.faces_flagged = rep->flagged;
  out.faces_left_out = static_cast<int64_t>(rep->left_out.size()) - rep->flagged;
  const bool counted = !manifest.empty();
  if (counted) out.real_enrolled = out.junk_enrolled = out.real_left_out = out.junk_left_out = 0;
  for (const LeftOutFace& l : rep->left_out) {
    // "too small (14 px tall, under 24); uncertain ..." -> "too small" and "uncertain detection"
    std::stringstream ss(l.reason);
    for (std::string part; std::getline(ss, part, ';');) {
      part.erase(0, part.find_first_not_of(' '));
      ++out.left_out_by_rule[part.substr(0, part.find(" ("))];
    }
    if (!o.all_faces && counted) {
      const int real = IsReal(manifest, l.path, l.box);
      if (real == 1) ++out.real_left_out;
      if (real == 0) ++out.junk_left_out;
    }
  }
  // Every face the gallery holds, told apart by the manifest.
  std::map<int64_t, int> face_is_real;
  auto ids = gallery.catalog().FaceIds();
  if (!ids.ok()) return ids.status();
  for (int64_t id : *ids) {
    auto f = gallery.catalog().GetFace(id);
    if (!f.ok()) return f.status();
    auto im = gallery.catalog().GetImage(f->image_id);
    if (!im.ok()) return im.status();
    const int real = counted ? IsReal(manifest, im->uri, f->box) : -1;
    face_is_real[id] = real;
    if (!f->excluded.empty()) continue;
    if (real == 1) ++out.real_enrolled;
    if (real == 0) ++out.junk_enrolled;
  }

  auto cal = Calibration::ForModel(gallery.model());
  if (!cal.ok()) return cal.status();
  InvestigationsOptions io;
  io.admission = o.admission;
  io.decode = o.analyzer.decode;
  Investigations inv(&gallery, nullptr, nullptr, *cal, io);
  auto analyzer = FaceAnalyzer::Create(gallery.analyzer_options());
  if (!analyzer.ok()) return analyzer.status();
  const Principal who = LocalPrincipal("evaluation");

  auto mated = ListPhotos({o.mated_dir});
  if (!mated.ok()) return mated.status();
  auto nonmated = ListPhotos({o.nonmated_dir});
  if (!nonmated.ok()) return nonmated.status();
  std::vector<std::pair<std::string, std::string>> probes;  // path, person
  for (const auto& p : *mated) probes.push_back({p, fs::path(p).parent_path().filename().string()});
  for (const auto& p : *nonmated) probes.push_back({p, ""});
  double fpir_sum = 0;
  int64_t done = 0;
  for (const auto& [path, person] : probes) {
    LeadSearch ls;
    ls.probe = path;
    ls.person = person;
    auto bytes = ReadFileBytes(path, o.analyzer.decode.max_bytes);
    if (!bytes.ok()) return bytes.status();
    SearchRequest req;
    req.probe.photo = std::move(*bytes);
    req.probe.name = path;
    req.fpir = o.fpir;
    req.fmr = o.fmr;
    req.top = 10;
    req.all = true;  // see the first candidate whatever its score
    auto r = inv.Search(who, req, analyzer->get());
    if (!r.ok() && r.status().code() != Status::Code::kNoFace) return r.status();
    if (!r.ok()) {
      ls.no_face = true;
    } else {
      ls.undecided = r->undecided;
      ls.probe_quality = r->probe.quality;
      ls.probe_certainty = r->probe.certainty;
      ls.stated_fpir = r->threshold.fpir;
      out.threshold = r->threshold.threshold;
      out.gallery_size = r->gallery_size;
      fpir_sum += r->threshold.fpir;
      if (!r->leads.empty()) {
        ls.rank1 = r->leads.front().candidate.subject;
        ls.rank1_score = r->leads.front().candidate.score;
      }
      for (const Lead& l : r->leads) {
        if (!l.above_threshold) continue;
        if (ls.leads++ == 0) {
          ls.first_lead = l.candidate.subject;
          ls.first_score = l.candidate.score;
        }
        ++out.leads;
        out.leads_low_quality += l.candidate.face.quality < 0.1f;
        if (counted && face_is_real[l.candidate.face_id] == 0) out.leads_junk = std::max<int64_t>(out.leads_junk, 0) + 1;
      }
    }
    if (counted && out.leads_junk < 0) out.leads_junk = 0;
    out.undecided += ls.undecided;
    if (person.empty()) {
      ++out.nonmated;
      out.nonmated_no_face += ls.no_face;
      out.nonmated_with_lead += ls.leads > 0;
    } else {
      ++out.mated;
      out.mated_no_face += ls.no_face;
      out.mated_right_first += ls.leads > 0 && ls.first_lead == person;
      out.mated_wrong_first += ls.leads > 0 && ls.first_lead != person;
      out.mated_rank1_right += !ls.no_face && ls.rank1 == person;
    }
    out.searches.push_back(std::move(ls));
    if (o.progress) o.progress("searching", ++done, static_cast<int64_t>(probes.size()));
  }
  const int64_t decided = static_cast<int64_t>(probes.size()) - out.mated_no_face - out.nonmated_no_face;
  out.stated_fpir = decided > 0 ? fpir_sum / static_cast<double>(decided) : 0;
  return out;
}

}  // namespace lineup
