#include "lineup/investigations.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "lineup/accountability.h"
#include "lineup/image.h"
#include "lineup/models.h"

namespace lineup {

namespace {

// How deep a search looks past faces it must not return (their sources' purposes).
constexpr int kMaxSearchDepth = 100000;

using json = nlohmann::json;

json Box(const cv::Rect2f& b) {
  return {std::lround(b.x), std::lround(b.y), std::lround(b.width), std::lround(b.height)};
}

double Round3(double v) { return std::round(v * 1000) / 1000; }

json FaceSummary(const Face& f, size_t index) {
  return {{"face", index + 1},
          {"box", Box(f.box)},
          {"confidence", Round3(f.confidence)},
          {"quality", Round3(f.quality.score)},
          {"quality_reasons", f.quality.reasons}};
}

json ProbeJson(const ProbeReport& p) {
  if (p.kind == "vector") return {{"kind", "vector"}};
  json faces = json::array();
  for (size_t i = 0; i < p.faces.size(); ++i) faces.push_back(FaceSummary(p.faces[i], i));
  return {{"kind", p.kind},
          {"name", p.name},
          {"image_sha256", p.sha256},
          {"width", p.width},
          {"height", p.height},
          {"faces", faces},
          {"searched_face", p.searched + 1},
          {"quality", Round3(p.quality)},
          {"quality_reasons", p.quality_reasons}};
}

}  // namespace

json SearchThresholdJson(const SearchThreshold& t) {
  json groups = json::object(), group_fmr = json::object();
  for (const auto& [g, f] : t.group_fpir) groups[g] = f;
  for (const auto& [g, f] : t.group_fmr) group_fmr[g] = f;
  return {{"threshold", t.threshold},
          {"fmr", t.fmr},
          {"target_fpir", t.target_fpir > 0 ? json(t.target_fpir) : json(nullptr)},
          {"fpir", t.fpir},
          {"gallery_size", t.gallery_size},
          {"beyond_calibration", t.beyond_calibration},
          {"searched_faces", t.searched_faces},
          {"group_fpir", groups},
          {"worst_group", t.worst_group.empty() ? json(nullptr) : json(t.worst_group)},
          {"group_fmr", group_fmr},
          {"worst_fmr_group", t.worst_fmr_group.empty() ? json(nullptr) : json(t.worst_fmr_group)},
          {"group_fmr_bounded", t.group_fmr_bounded},
          {"differentials", t.differentials},
          {"basis", t.target_fpir > 0 ? "fpir" : "fmr"},
          {"text", t.Describe()}};
}

namespace {

// What a person should know about a probe face before trusting its candidates.
void ProbeWarnings(const ProbeReport& p, int wanted, const AdmissionRules& rules, bool* undecided,
                   std::vector<std::string>* warnings) {
  if (p.kind != "photo") return;
  if (p.quality < rules.min_decision_quality) {
    *undecided = true;
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "PROBE TOO POOR TO DECIDE (quality %.2f, under %.2f): no candidate can be called a lead; any shown "
                  "are for orientation only",
                  p.quality, rules.min_decision_quality);
    warnings->push_back(buf);
  } else if (!p.quality_reasons.empty()) {
    std::string why;
    for (const auto& r : p.quality_reasons) why += (why.empty() ? "" : ", ") + r;
    warnings->push_back("LOW-QUALITY PROBE (" + why + "): expect missed and false candidates");
  }
  if (p.faces.size() > 1 && wanted == 0)
    warnings->push_back(std::to_string(p.faces.size()) + " faces in the photo; searched face " +
                        std::to_string(p.searched + 1) + " (the largest usable; the numbers are drawn on the photo)");
}

}  // namespace

Principal LocalPrincipal(const std::string& unix_user) {
  Principal p;
  p.name = "cli:" + unix_user;
  p.role = Role::kAdmin;  // whoever can read the gallery's files; the actor name says who
  p.via = "cli";
  return p;
}

std::string CurrentUnixUser() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) return pw->pw_name;
  return "uid" + std::to_string(::geteuid());
}

int SearchResult::LeadCount() const {
  int n = 0;
  for (const Lead& l : leads) n += l.above_threshold;
  return n;
}

struct Investigations::Impl {
  Gallery* gallery;
  Cases* cases;
  AuditLog* audit;
  const Calibration& calibration;
  InvestigationsOptions options;

  Status WithGallery(const std::function<Status()>& body) {
    if (!gallery) return Status::FailedPrecondition("no gallery");
    return options.with_gallery ? options.with_gallery(body) : body();
  }

  // The checks every accountable act starts with, and its audit record
  // (accountability.h).
  Accountability accountability{cases, audit};
  Status Authorise(const Principal& who, int64_t case_id, const std::string& justification, const char* what,
                   std::initializer_list<Role> roles, bool needs_case) {
    return accountability.Authorise(who, case_id, justification, what, roles, needs_case);
  }
  Result<int64_t> Record(const Principal& who, const std::string& action, int64_t case_id, const json& details) {
    return accountability.Record(who, action, case_id, details);
  }

  // The faces a search must not return: those of sources whose legal basis does not
  // allow "search" (catalog.h, SourceRecord::purposes). With the gallery held.
  struct Barred {
    int64_t faces = 0;
    std::vector<std::string> sources;
    std::string Names() const {
      std::string out;
      for (const std::string& n : sources) out += (out.empty() ? "" : ", ") + n;
      return out;
    }
  };
  Result<Barred> NotSearchable() {
    auto sources = gallery->catalog().Sources();
    if (!sources.ok()) return sources.status();
    std::set<std::string> barred;
    for (const SourceRecord& src : *sources)
      if (!src.Allows("search")) barred.insert(src.name);
    Barred out;
    if (barred.empty()) return out;
    auto counts = gallery->catalog().CountsBySource();
    if (!counts.ok()) return counts.status();
    for (const auto& c : *counts)
      if (barred.count(c.name) && c.faces > 0) {
        out.faces += c.faces;
        out.sources.push_back(c.name);
      }
    return out;
  }

  // Decodes and analyses a probe photo, and chooses its face.
  Result<std::pair<ProbeReport, Face>> AnalyseProbe(const Probe& probe, FaceAnalyzer& analyzer, bool embed,
                                                    std::vector<Face>* set_aside = nullptr, Image* decoded = nullptr) {
    auto img = DecodeImage(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(probe.photo.data()), probe.photo.size()),
        options.decode);
    const std::string who = probe.name.empty() ? "the photo" : probe.name;
    if (!img.ok()) return img.status().WithContext(who);
    std::vector<Face> aside;
    auto faces = analyzer.Analyze(img->bgr, embed, &aside);
    if (!faces.ok()) return faces.status().WithContext(who);
    ProbeReport r;
    r.kind = "photo";
    r.name = probe.name;
    r.sha256 = Sha256Hex(probe.photo);
    r.width = img->bgr.cols;
    r.height = img->bgr.rows;
    if (set_aside) *set_aside = aside;
    if (decoded) *decoded = *img;
    if (faces->empty()) {
      if (!embed) {  // detection reports "no face" as a result, not an error
        r.faces = std::move(*faces);
        return std::pair<ProbeReport, Face>{std::move(r), Face{}};
      }
      return Status::NoFace(who + ": " + NoFaceMessage(aside, analyzer.Options().photo_min_confidence));
    }
    const int n = static_cast<int>(faces->size());
    if (probe.face > n)
      return Status::InvalidArgument(who + " has " + std::to_string(n) + " face(s), no face " + std::to_string(probe.face));
    r.searched = probe.face > 0 ? probe.face - 1 : PickFace(*faces, {r.width, r.height}, FacePick::kLargest);
    Face chosen = (*faces)[static_cast<size_t>(r.searched)];
    r.quality = chosen.quality.score;
    r.certainty = chosen.certainty;
    r.quality_reasons = chosen.quality.reasons;
    r.faces = std::move(*faces);
    for (Face& f : r.faces) {
      f.embedding.clear();
      f.thumbnail.release();
    }
    return std::pair<ProbeReport, Face>{std::move(r), std::move(chosen)};
  }

};

Investigations::Investigations(Gallery* gallery, Cases* cases, AuditLog* audit, const Calibration& calibration,
                               InvestigationsOptions options)
    : impl_(new Impl{gallery, cases, audit, calibration, std::move(options)}) {}
Investigations::~Investigations() = default;

Result<SearchResult> Investigations::Search(const Principal& who, const SearchRequest& req, FaceAnalyzer* analyzer) {
  Impl& m = *impl_;
  if (!m.gallery) return Status::FailedPrecondition("no gallery to search");
  if (Status s = m.Authorise(who, req.case_id, req.justification, "a search", {Role::kAnalyst}, true); !s.ok())
    return s;
  if (req.top < 1 || req.top > 10000) return Status::InvalidArgument("top must be 1 to 10000");
  if (req.fmr < 0 || req.fmr >= 1) return Status::InvalidArgument("an FMR must be between 0 and 1");
  if (req.fmr == 0 && !(req.fpir > 0 && req.fpir < 1)) return Status::InvalidArgument("an FPIR must be between 0 and 1");

  SearchResult out;
  out.case_id = req.case_id;
  out.justification = req.justification;
  out.model = m.gallery->model().Id();
  out.calibration = std::filesystem::path(Calibration::PathFor(m.gallery->model())).filename().string();
  out.calibration_sha256 = m.calibration.sha256;
  std::vector<float> vec;
  std::string probe_crop;  // JPEG of the searched face, kept with a search in a case
  if (!req.probe.photo.empty()) {
    if (!analyzer) return Status::Internal("a photo probe needs an analyser");
    if (analyzer->Model().Id() != out.model)
      return Status::Internal("the analyser embeds " + analyzer->Model().Id() + ", the gallery holds " + out.model);
    Image decoded;
    auto a = m.AnalyseProbe(req.probe, *analyzer, true, nullptr, req.case_id > 0 ? &decoded : nullptr);
    if (!a.ok()) return a.status();
    if (req.case_id > 0) {
      // The same 160 px crop the gallery keeps of its faces (gallery.h, ThumbnailPath).
      const cv::Mat crop = FaceThumbnail(decoded.bgr, a->second.box, 160);
      std::vector<uchar> jpeg;
      if (crop.empty() || !cv::imencode(".jpg", crop, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90}))
        return Status::Internal("cannot make the probe face's crop for the case");
      probe_crop.assign(jpeg.begin(), jpeg.end());
    }
    out.probe = std::move(a->first);
    vec = std::move(a->second.embedding);
    ProbeWarnings(out.probe, req.probe.face, m.options.admission, &out.undecided, &out.warnings);
  } else {
    if (!req.probe.vector_model.empty() && req.probe.vector_model != out.model)
      return Status::InvalidArgument("a vector of " + req.probe.vector_model + "; this gallery holds " + out.model);
    if (static_cast<int>(req.probe.vector.size()) != m.gallery->model().dim)
      return Status::InvalidArgument("a probe vector needs " + std::to_string(m.gallery->model().dim) + " values");
    vec = req.probe.vector;
    out.probe.kind = "vector";
    out.probe.name = req.probe.name;
  }

  std::vector<Candidate> found;
  Impl::Barred not_searched;
  Status s = m.WithGallery([&]() -> Status {
    out.gallery_size = m.gallery->size();
    auto t = req.fmr > 0 ? m.calibration.ForComparison(req.fmr, out.gallery_size)
                         : m.calibration.ForSearch(req.fpir, out.gallery_size);
    if (!t.ok()) return t.status();
    out.threshold = *t;
    // Purpose limitation: faces of sources whose legal basis does not allow "search" are
    // never candidates (they stay in the index for the purposes their source allows).
    auto barred = m.NotSearchable();
    if (!barred.ok()) return barred.status();
    not_searched = *barred;
    // Grouping by subject looks deeper, so that a known person's other faces are seen.
    const int want = req.by_subject ? std::max(req.top * 5, 50) : req.top;
    // Barred faces may fill the nearest places: look deeper until enough others remain
    // or the gallery has no more.
    for (int k = want;;) {
      auto res = m.gallery->Search(vec, k);
      if (!res.ok()) return res.status();
      const size_t seen = res->front().size();
      found.clear();
      for (Candidate& c : res->front())
        if (c.source.Allows("search")) found.push_back(std::move(c));
      if (static_cast<int>(found.size()) >= want || seen < static_cast<size_t>(k) || seen == found.size() ||
          k >= kMaxSearchDepth)
        break;
      k = std::min(kMaxSearchDepth, k * 4);
    }
    if (static_cast<int>(found.size()) > want) found.resize(static_cast<size_t>(want));
    out.ranked_by_cohort = m.gallery->RankedByCohort();
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (not_searched.faces > 0)
    out.warnings.push_back(std::to_string(not_searched.faces) + " face(s) were not searched: the legal basis of " +
                           (not_searched.sources.size() == 1 ? "source " : "sources ") + not_searched.Names() +
                           " does not allow search");
  if (out.threshold.beyond_calibration)
    out.warnings.push_back("the gallery is too large for the calibration to hold FPIR " +
                           std::to_string(req.fpir * 100).substr(0, 4) + "%: " + out.threshold.Describe());

  int rank = 0;
  for (const Candidate& c : found) {
    Lead l;
    l.rank = ++rank;
    l.candidate = c;
    l.fpir = m.calibration.FpirAt(c.score, out.gallery_size);
    const bool scores = c.score >= out.threshold.threshold;
    if (scores) {
      std::string why = JoinReasons(AdmissionFailures(c.face, m.options.admission));
      if (!why.empty()) l.withheld = "gallery face fails admission: " + why;
      else if (out.undecided) l.withheld = "probe too poor to decide";
    }
    l.above_threshold = scores && l.withheld.empty();
    out.leads.push_back(std::move(l));
  }
  if (req.by_subject) {
    std::map<std::string, size_t> at;
    for (size_t i = 0; i < out.leads.size(); ++i) {
      const std::string& subj = out.leads[i].candidate.subject;
      if (subj.empty()) continue;
      auto [it, fresh] = at.emplace(subj, out.subjects.size());
      if (fresh) out.subjects.push_back({subj, i, {}, out.leads[i].above_threshold});
      out.subjects[it->second].face_ids.push_back(out.leads[i].candidate.face_id);
    }
  }
  // What is shown: the leads, and with `all` the rest, at most `top` candidates (the
  // subjects keep the faces they were scored by).
  std::vector<Lead> shown;
  for (const Lead& l : out.leads)
    if ((l.above_threshold || req.all) && static_cast<int>(shown.size()) < req.top) shown.push_back(l);
  if (req.by_subject) {
    std::vector<SubjectLead> subjects;
    for (SubjectLead& sl : out.subjects) {
      if (!sl.above_threshold && !req.all) continue;
      if (static_cast<int>(subjects.size()) >= req.top) break;
      // Point at the subject's best face in `shown`, adding it if it is not there.
      const Lead& best = out.leads[sl.best];
      size_t k = 0;
      while (k < shown.size() && shown[k].candidate.face_id != best.candidate.face_id) ++k;
      if (k == shown.size()) shown.push_back(best);
      sl.best = k;
      subjects.push_back(std::move(sl));
    }
    out.subjects = std::move(subjects);
  }
  out.leads = std::move(shown);

  // Record in the case, then the audit log; only then does anyone see a candidate.
  json candidates = json::array();
  for (const Lead& l : out.leads)
    candidates.push_back({l.candidate.face_id, std::round(l.candidate.score * 1e4) / 1e4});
  out.probe_photo_kept = req.case_id > 0 && req.keep_probe_photo && !probe_crop.empty();
  if (req.case_id > 0) {
    SearchRecord rec;
    rec.case_id = req.case_id;
    rec.user = who.name;
    rec.justification = req.justification;
    rec.probe_sha256 = out.probe.sha256;
    rec.kind = out.probe.kind;
    rec.threshold = out.threshold.threshold;
    rec.gallery_size = out.gallery_size;
    rec.low_quality = !out.probe.quality_reasons.empty() || out.undecided;
    for (const Lead& l : out.leads) rec.candidates.push_back({l.candidate.face_id, l.candidate.score});
    rec.shown = SearchResultJson(out).dump();
    rec.probe_crop = std::move(probe_crop);
    if (out.probe_photo_kept) rec.probe_photo = req.probe.photo;
    Status st = m.cases->RecordSearch(&rec);
    if (!st.ok()) return st;
    out.search_id = rec.id;
  }
  auto seq = m.Record(who, "search", req.case_id,
                      {{"search_id", out.search_id},
                       {"justification", req.justification},
                       {"kind", out.probe.kind},
                       {"probe", out.probe.name},
                       {"probe_sha256", out.probe.sha256},
                       {"target_fpir", out.threshold.target_fpir},
                       {"fmr", out.threshold.fmr},
                       {"threshold", out.threshold.threshold},
                       {"gallery_size", out.gallery_size},
                       {"low_quality", !out.probe.quality_reasons.empty()},
                       {"undecided", out.undecided},
                       {"leads", out.LeadCount()},
                       {"not_searched_purpose", not_searched.faces},
                       {"probe_photo_kept", out.probe_photo_kept},
                       {"candidates", candidates}});
  if (!seq.ok()) return seq.status();
  out.audit_seq = *seq;
  return out;
}

Result<VerifyResult> Investigations::Verify(const Principal& who, const VerifyRequest& req, FaceAnalyzer& analyzer) {
  Impl& m = *impl_;
  if (Status s = m.Authorise(who, req.case_id, req.justification, "a verification", {Role::kAnalyst}, true); !s.ok())
    return s;
  VerifyResult out;
  auto t = m.calibration.ForComparison(req.fmr, 1);
  if (!t.ok()) return t.status();
  out.threshold = *t;
  Face fa, fb;
  for (auto [probe, report, face, label] : {std::tuple{&req.a, &out.a, &fa, "image_a"}, std::tuple{&req.b, &out.b, &fb, "image_b"}}) {
    auto r = m.AnalyseProbe(*probe, analyzer, true);
    if (!r.ok()) return probe->name.empty() ? r.status().WithContext(label) : r.status();
    *report = std::move(r->first);
    *face = std::move(r->second);
  }
  double score = 0;
  for (size_t i = 0; i < fa.embedding.size() && i < fb.embedding.size(); ++i)
    score += static_cast<double>(fa.embedding[i]) * fb.embedding[i];
  out.score = score;
  out.fmr_at_score = m.calibration.FmrAt(static_cast<float>(score));
  auto t3 = m.calibration.ThresholdFor(1e-3), t4 = m.calibration.ThresholdFor(1e-4);
  out.above_fmr_1e3 = t3.ok() && score >= *t3;
  out.above_fmr_1e4 = t4.ok() && score >= *t4;
  std::vector<std::string> poor;
  for (auto [report, side] : {std::pair{&out.a, "first"}, std::pair{&out.b, "second"}}) {
    if (report->quality < m.options.admission.min_decision_quality) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "the %s face's quality is %.2f, under %.2f", side, report->quality,
                    m.options.admission.min_decision_quality);
      poor.push_back(buf);
    } else if (!report->quality_reasons.empty()) {
      std::string why;
      for (const auto& r : report->quality_reasons) why += (why.empty() ? "" : ", ") + r;
      out.warnings.push_back(std::string("the ") + side + " face is of low quality (" + why + ")");
    }
  }
  if (!poor.empty()) {
    out.decision = "undecided";
    out.reason = JoinReasons(poor) + ": too poor to compare, so neither a match nor a non-match can be stated";
  } else {
    out.decision = score >= out.threshold.threshold ? "same" : "different";
  }
  auto seq = m.Record(who, "verify", req.case_id,
                      {{"justification", req.justification},
                       {"image_a", out.a.name},
                       {"image_a_sha256", out.a.sha256},
                       {"image_b", out.b.name},
                       {"image_b_sha256", out.b.sha256},
                       {"score", std::round(score * 1e4) / 1e4},
                       {"fmr", req.fmr},
                       {"decision", out.decision}});
  if (!seq.ok()) return seq.status();
  out.audit_seq = *seq;
  return out;
}

Result<DetectResult> Investigations::Detect(const Principal& who, const DetectRequest& req, FaceAnalyzer& analyzer) {
  Impl& m = *impl_;
  // Finding faces compares no one with anyone: enrollers check their photos with it, and
  // no case is needed; one given is checked and recorded.
  if (Status s = m.Authorise(who, req.case_id, req.justification, "a detection", {Role::kAnalyst, Role::kEnroller},
                             false);
      !s.ok())
    return s;
  DetectResult out;
  Image decoded;
  auto r = m.AnalyseProbe(req.photo, analyzer, false, &out.set_aside, &decoded);
  if (!r.ok()) return r.status();
  out.image = decoded.bgr;
  out.format = decoded.info.format;
  out.photo = std::move(r->first);
  auto seq = m.Record(who, "detect", req.case_id,
                      {{"justification", req.justification},
                       {"image", out.photo.name},
                       {"image_sha256", out.photo.sha256},
                       {"faces", out.photo.faces.size()}});
  if (!seq.ok()) return seq.status();
  out.audit_seq = *seq;
  return out;
}

Result<json> Investigations::RecordedSearch(const Principal& who, int64_t search_id) {
  Impl& m = *impl_;
  if (!m.cases) return Status::NotFound("no searches here");
  auto s = m.cases->GetSearch(search_id);
  if (!s.ok()) return s.status();
  if (who.role != Role::kAdmin && !IsLocal(who)) {
    auto member = m.cases->IsMember(s->case_id, who.name);
    if (!member.ok()) return member.status();
    if (!*member) return Status::PermissionDenied("you are not a member of the search's case");
  }
  json j = s->shown.empty() ? json::object() : json::parse(s->shown, nullptr, false);
  if (j.is_discarded() || !j.is_object()) j = json::object();
  if (s->shown.empty()) {
    // Recorded before searches were kept as shown: what the record has.
    json c = json::array();
    int rank = 0;
    for (const auto& x : s->candidates)
      c.push_back({{"rank", ++rank}, {"face_id", x.face_id}, {"score", x.score}, {"above_threshold", x.score >= s->threshold}});
    j = {{"probe", {{"kind", s->kind}, {"image_sha256", s->probe_sha256}}},
         {"threshold", s->threshold},
         {"gallery_size", s->gallery_size},
         {"candidates", c},
         {"warnings", json::array({"recorded before searches were kept as shown: provenance is not available"})}};
  }
  j["search_id"] = s->id;
  j["case_id"] = s->case_id;
  j["user"] = s->user;
  j["justification"] = s->justification;
  j["at"] = s->at;
  auto reviews = m.cases->Reviews(s->case_id);
  if (!reviews.ok()) return reviews.status();
  json rv = json::array();
  for (const auto& r : *reviews) {
    if (r.search_id != s->id) continue;
    rv.push_back({{"id", r.id},
                  {"face_id", r.face_id},
                  {"analyst", r.analyst},
                  {"verdict", r.verdict},
                  {"note", r.note},
                  {"at", r.at},
                  {"confirmed_by", r.confirmed_by},
                  {"confirmed_at", r.confirmed_at},
                  {"confirmed", !r.confirmed_by.empty()}});
  }
  j["reviews"] = rv;
  for (json& c : j["candidates"])
    if (c.contains("face_id"))
      c["thumbnail"] = "/v1/searches/" + std::to_string(s->id) + "/faces/" + std::to_string(c["face_id"].get<int64_t>()) +
                       "/thumbnail";
  return j;
}

json SearchResultJson(const SearchResult& r) {
  json cands = json::array();
  for (const Lead& l : r.leads) {
    const Candidate& c = l.candidate;
    cands.push_back({{"rank", l.rank},
                     {"face_id", c.face_id},
                     {"score", c.score},
                     {"rank_score", c.rank_score},
                     {"fpir", l.fpir},
                     {"above_threshold", l.above_threshold},
                     {"withheld", l.withheld.empty() ? json(nullptr) : json(l.withheld)},
                     {"image",
                      {{"uri", c.image.uri},
                       {"sha256", c.image.sha256},
                       {"captured_at", c.image.captured_at},
                       {"width", c.image.width},
                       {"height", c.image.height}}},
                     {"source", {{"name", c.source.name}, {"legal_basis", c.source.legal_basis}}},
                     {"subject", c.subject},
                     {"box", Box(c.face.box)},
                     {"quality", c.face.quality},
                     {"quality_reasons", c.face.quality_reasons}});
  }
  json subjects = json::array();
  for (const SubjectLead& s : r.subjects)
    subjects.push_back({{"subject", s.subject},
                        {"best", r.leads[s.best].candidate.face_id},
                        {"score", r.leads[s.best].candidate.score},
                        {"fpir", r.leads[s.best].fpir},
                        {"faces", s.face_ids},
                        {"above_threshold", s.above_threshold}});
  return {{"search_id", r.search_id},
          {"case_id", r.case_id},
          {"justification", r.justification},
          {"probe", ProbeJson(r.probe)},
          {"gallery_size", r.gallery_size},
          {"threshold", r.threshold.threshold},
          {"fmr", r.threshold.fmr},
          {"decision", SearchThresholdJson(r.threshold)},
          {"undecided", r.undecided},
          {"probe_photo_kept", r.probe_photo_kept},
          {"model", r.model},
          {"calibration", {{"file", r.calibration}, {"sha256", r.calibration_sha256}}},
          {"ranked_by_cohort", r.ranked_by_cohort},
          {"warnings", r.warnings},
          {"candidates", cands},
          {"subjects", subjects},
          {"leads", r.LeadCount()},
          {"notice",
           "Candidates are investigative leads for human review, not identifications. A possible match counts only "
           "after a second analyst confirms it."},
          {"fpir_formula", "fpir = 1 - (1 - FMR(score))^gallery_size"}};
}

}  // namespace lineup
