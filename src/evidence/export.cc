// CaseEvidence::Export: a case's bundle (evidence.h, docs/evidence.md).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "evidence/bundle_files.h"
#include "evidence/report.h"
#include "investigate/face_crops.h"
#include "lineup/accountability.h"
#include "lineup/differentials.h"
#include "lineup/evidence.h"
#include "lineup/models.h"
#include "lineup/signing_key.h"
#include "oversight/sqlite_db.h"

namespace lineup {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The true match rate of a comparison scoring `t`, interpolated between the calibration's
// points (linear in the threshold), and whether t lies within what was measured.
std::pair<double, bool> TmrAt(const Calibration& c, double t) {
  const auto& p = c.points;
  if (p.empty() || c.tmr.size() != p.size()) return {std::nan(""), false};
  if (t <= p.front().second) return {c.tmr.front(), t == p.front().second};
  if (t >= p.back().second) return {c.tmr.back(), t == p.back().second};
  for (size_t i = 1; i < p.size(); ++i)
    if (t <= p[i].second) {
      const double a = p[i - 1].second, b = p[i].second;
      const double w = b > a ? (t - a) / (b - a) : 0;
      return {c.tmr[i - 1] + w * (c.tmr[i] - c.tmr[i - 1]), true};
    }
  return {c.tmr.back(), false};
}

// The model's measured error rates at a search's threshold, from the calibration file.
json ErrorRates(const Calibration& c, double threshold, int64_t gallery_size) {
  const auto [tmr, within] = TmrAt(c, threshold);
  return {{"threshold", threshold},
          {"gallery_size", gallery_size},
          {"fmr_per_comparison", c.FmrAt(static_cast<float>(threshold))},
          {"fnmr_per_comparison", std::isnan(tmr) ? json(nullptr) : json(1 - tmr)},
          {"fnmr_within_measured_range", within},
          {"fpir_for_gallery_size", c.FpirAt(static_cast<float>(threshold), gallery_size)},
          {"measured_on", c.dataset},
          {"impostor_comparisons", c.impostor_comparisons},
          {"genuine_comparisons", c.genuine_comparisons},
          {"explanation",
           "fmr_per_comparison: the share of comparisons of two different people that score at least the threshold; "
           "fnmr_per_comparison: the share of comparisons of two photos of the same person that score below it; "
           "fpir_for_gallery_size: the share of searches of a gallery this size for someone who is not in it that "
           "return any candidate at or above it. All measured on the dataset named, not on this case's photos."}};
}

// The file extension of a kept probe photo, from its first bytes.
std::string PhotoExtension(const std::string& bytes) {
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF && static_cast<unsigned char>(bytes[1]) == 0xD8)
    return ".jpg";
  if (bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return ".png";
  if (bytes.size() >= 12 && bytes.compare(0, 4, "RIFF") == 0 && bytes.compare(8, 4, "WEBP") == 0) return ".webp";
  return ".img";
}

const char* kReadme =
    "Lineup evidence bundle\n"
    "======================\n\n"
    "Candidates are investigative leads for human review, not identifications.\n\n"
    "report.pdf / report.html   the case for people: authority, searches, candidates, reviews, error rates\n"
    "case.json                  the same as data (format lineup-evidence-v1, docs/evidence.md)\n"
    "probes/, crops/            the searched faces and the candidates' face crops (JPEG)\n"
    "audit/records.jsonl        the case's audit records, every field, one JSON object a line\n"
    "audit/chain.tsv            seq and hash of every record of the gallery's audit log from the case's first\n"
    "                           record to the head at export time: where each case record sits in the chain\n"
    "calibration/               the calibration file the error rates come from\n"
    "manifest.json              every other file with its SHA-256 and size\n"
    "manifest.sig               the Ed25519 signature of manifest.json by the gallery's key\n\n"
    "To check that nothing was changed, added or removed (offline):\n\n"
    "    lineup evidence verify THIS_FOLDER --key PUBLIC_KEY\n\n"
    "where PUBLIC_KEY is the gallery's public key as `lineup key show` prints it on the gallery's machine\n"
    "(compare its fingerprint with the one in manifest.sig). Without Lineup: the SHA-256 of every file must\n"
    "match manifest.json, and manifest.sig's signature must verify over manifest.json's bytes with Ed25519.\n";

}  // namespace

CaseEvidence::CaseEvidence(Gallery* gallery, Cases* cases, AuditLog* audit, const Calibration& calibration,
                           WithGallery with_gallery)
    : gallery_(gallery), cases_(cases), audit_(audit), calibration_(calibration), with_gallery_(std::move(with_gallery)) {}

Result<ExportResult> CaseEvidence::Export(const Principal& who, const ExportRequest& req) {
  if (!gallery_ || !cases_ || !audit_) return Status::FailedPrecondition("an export needs the gallery, its cases and its audit log");
  if (req.case_id <= 0) return Status::InvalidArgument("a case id is a positive whole number");
  auto cs = cases_->Get(req.case_id);
  if (!cs.ok()) return cs.status();

  // Who may: the case's members, auditors, and whoever is at the gallery's own machine.
  bool allowed = IsLocal(who) || who.role == Role::kAuditor;
  if (!allowed && who.role == Role::kAnalyst) {
    auto member = cases_->IsMember(req.case_id, who.name);
    if (!member.ok()) return member.status();
    allowed = *member;
  }
  if (!allowed) {
    const std::string why = who.role == Role::kAnalyst
                                ? "you are not a member of case " + std::to_string(req.case_id)
                                : std::string("the ") + RoleName(who.role) + " role may not export cases";
    auto refused = audit_->Append(who.name, "case_export_refused", req.case_id,
                                  json{{"reason", why}, {"role", RoleName(who.role)}}.dump());
    if (!refused.ok()) return Status::Unavailable("refused (" + why + "), and the refusal could not be recorded");
    return Status::PermissionDenied(why + ": a case is exported by its members and by auditors");
  }
  if (Status s = oversight::CheckText("a justification", req.justification, kMaxJustification, IsLocal(who), false);
      !s.ok())
    return s.WithContext("an export of a case");

  // The bundle is written beside its destination and moved there whole, so that a
  // failed export never leaves something that looks like a bundle.
  if (req.out_dir.empty()) return Status::InvalidArgument("an export needs a directory to write the bundle into");
  const fs::path out = fs::path(req.out_dir).lexically_normal();
  std::error_code ec;
  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec))
    return Status::InvalidArgument(parent.string() + ": no such directory to put the bundle in");
  if (fs::exists(out, ec) && (!fs::is_directory(out, ec) || !fs::is_empty(out, ec)))
    return Status::InvalidArgument(out.string() + ": already there and not an empty directory");

  auto key = SigningKey::LoadOrCreate(gallery_->dir(), audit_, who.name);
  if (!key.ok()) return key.status().WithContext("the gallery's signing key");

  const fs::path tmp = out.string() + ".partial-" + oversight::RandomBase64Url(6);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      if (!p.empty()) {
        std::error_code e;
        fs::remove_all(p, e);
      }
    }
  } cleanup{tmp};
  for (const char* d : {"", "crops", "probes", "audit", "calibration"}) {
    fs::create_directories(tmp / d, ec);
    if (ec) return Status::IOError((tmp / d).string() + ": cannot create: " + ec.message());
  }

  ExportResult result;
  auto searches = cases_->Searches(req.case_id);
  if (!searches.ok()) return searches.status();
  auto reviews = cases_->Reviews(req.case_id);
  if (!reviews.ok()) return reviews.status();

  // The case's audit records, and the chain's hashes from the one before its first to
  // the head, read after them: every record kept is then inside the chain read.
  AuditFilter f;
  f.case_id = req.case_id;
  auto records = audit_->Records(f);
  if (!records.ok()) return records.status();
  int64_t chain_from = 0;
  if (!records->empty()) {
    chain_from = std::max<int64_t>(1, records->front().seq - 1);
  } else {
    AuditFilter last;
    last.limit = 1;
    auto newest = audit_->Records(last);
    if (!newest.ok()) return newest.status();
    chain_from = newest->empty() ? 1 : newest->front().seq;
  }
  auto chain = audit_->ChainHashes(chain_from);
  if (!chain.ok()) return chain.status();
  if (!chain->empty()) {
    result.audit_head_seq = chain->back().first;
    result.audit_head = chain->back().second;
  }
  std::string records_text, chain_text;
  while (!records->empty() && records->back().seq > result.audit_head_seq) records->pop_back();  // after the chain read
  for (const AuditRecord& r : *records) records_text += AuditLog::ExportLine(r) + "\n";
  result.audit_records = static_cast<int64_t>(records->size());
  for (const auto& [seq, hash] : *chain) chain_text += std::to_string(seq) + "\t" + hash + "\n";
  if (Status s = evidence::WriteWholeFile((tmp / evidence::kAuditRecordsFile).string(), records_text); !s.ok()) return s;
  if (Status s = evidence::WriteWholeFile((tmp / evidence::kAuditChainFile).string(), chain_text); !s.ok()) return s;

  // The calibration file the error rates come from, as it is now.
  const std::string model_id = gallery_->model().Id();
  const std::string calibration_path = Calibration::PathFor(gallery_->model());
  json calibration_json = {{"file", fs::path(calibration_path).filename().string()},
                           {"sha256", calibration_.sha256},
                           {"dataset", calibration_.dataset},
                           {"command", calibration_.command},
                           {"impostor_comparisons", calibration_.impostor_comparisons},
                           {"genuine_comparisons", calibration_.genuine_comparisons},
                           {"in_bundle", nullptr}};
  // Each group's error rates at the calibrated thresholds and at every threshold the
  // case's searches used (one row for searches that used the same), from the
  // calibration's group curves (differentials.h).
  std::vector<LabelledThreshold> used;
  {
    std::map<float, std::vector<int64_t>> by_threshold;
    for (const SearchRecord& s : *searches) by_threshold[static_cast<float>(s.threshold)].push_back(s.id);
    for (const auto& [t, ids] : by_threshold) {
      std::string label = ids.size() == 1 ? "search " : "searches ";
      for (size_t i = 0; i < ids.size(); ++i) label += (i ? ", " : "") + std::to_string(ids[i]);
      used.push_back({t, label});
    }
  }
  json per_group_table = nullptr;
  if (auto table = DifferentialsTable(calibration_, used); table.ok()) per_group_table = *table;
  if (auto raw = evidence::ReadWholeFile(calibration_path, 64 << 20); raw.ok() && Sha256Hex(*raw) == calibration_.sha256) {
    if (Status s = evidence::WriteWholeFile((tmp / "calibration/calibration.json").string(), *raw); !s.ok()) return s;
    calibration_json["in_bundle"] = "calibration/calibration.json";
  } else {
    result.warnings.push_back("the calibration file " + calibration_path +
                              " could not be read as loaded; it is not in the bundle");
  }

  // Every search as it was shown, with its probe, candidates' crops and reviews.
  FaceCrops crops(gallery_, nullptr, with_gallery_);
  std::map<int64_t, json> crop_of;  // face id -> "crops/face-N.jpg" or null
  std::map<int64_t, std::string> crop_note;
  auto crop_for = [&](int64_t face) -> Status {
    if (crop_of.count(face)) return Status::OK();
    auto path = crops.CropOf(face);
    if (!path.ok() && path.status().code() != Status::Code::kNotFound) return path.status();
    Result<std::string> bytes = path.ok() ? evidence::ReadWholeFile(*path, 16 << 20) : Result<std::string>(path.status());
    if (!bytes.ok()) {
      crop_of[face] = nullptr;
      crop_note[face] = "no crop: the face has left the gallery since the search (erased)";
      result.warnings.push_back("face " + std::to_string(face) + " has no crop (erased since the search)");
      return Status::OK();
    }
    const std::string rel = "crops/face-" + std::to_string(face) + ".jpg";
    if (Status s = evidence::WriteWholeFile((tmp / rel).string(), *bytes); !s.ok()) return s;
    crop_of[face] = rel;
    return Status::OK();
  };

  json searches_json = json::array();
  for (const SearchRecord& s : *searches) {
    json shown = s.shown.empty() ? json(nullptr) : json::parse(s.shown, nullptr, false);
    const bool have_shown = shown.is_object();
    json cands = json::array();
    if (have_shown && shown.contains("candidates") && shown["candidates"].is_array()) {
      cands = shown["candidates"];
    } else {
      int rank = 0;
      for (const SearchCandidate& c : s.candidates)
        cands.push_back({{"rank", ++rank},
                         {"face_id", c.face_id},
                         {"score", c.score},
                         {"above_threshold", c.score >= s.threshold},
                         {"provenance_note", "recorded before searches were kept as shown: no provenance"}});
    }
    for (json& c : cands) {
      if (!c.contains("face_id") || !c["face_id"].is_number_integer()) continue;
      const int64_t face = c["face_id"].get<int64_t>();
      if (Status st = crop_for(face); !st.ok()) return st;
      c["crop"] = crop_of[face];
      if (crop_note.count(face)) c["crop_note"] = crop_note[face];
      json rv = json::array();
      for (const ReviewRecord& r : *reviews)
        if (r.search_id == s.id && r.face_id == face) rv.push_back(ReviewRecordJson(r));
      c["reviews"] = rv;
      ++result.candidates;
    }
    auto kept = cases_->ProbeImagesOf(s.id);
    if (!kept.ok()) return kept.status();
    json probe_crop = nullptr, probe_photo = nullptr;
    if (!kept->crop.empty()) {
      const std::string rel = "probes/search-" + std::to_string(s.id) + "-face.jpg";
      if (Status st = evidence::WriteWholeFile((tmp / rel).string(), kept->crop); !st.ok()) return st;
      probe_crop = rel;
    }
    if (!kept->photo.empty()) {
      const std::string rel = "probes/search-" + std::to_string(s.id) + "-photo" + PhotoExtension(kept->photo);
      if (Status st = evidence::WriteWholeFile((tmp / rel).string(), kept->photo); !st.ok()) return st;
      probe_photo = rel;
    }
    const json used_calibration = have_shown && shown.contains("calibration") ? shown["calibration"] : json(nullptr);
    const bool same_calibration = used_calibration.is_object() &&
                                  used_calibration.value("sha256", std::string()) == calibration_.sha256;
    json j = {{"id", s.id},
              {"at", s.at},
              {"user", s.user},
              {"justification", s.justification},
              {"kind", s.kind},
              {"probe_sha256", s.probe_sha256},
              {"probe", have_shown && shown.contains("probe") ? shown["probe"] : json(nullptr)},
              {"probe_crop", probe_crop},
              {"probe_photo", probe_photo},
              {"gallery_size", s.gallery_size},
              {"threshold", s.threshold},
              {"low_quality", s.low_quality},
              {"decision", have_shown && shown.contains("decision") ? shown["decision"] : json(nullptr)},
              {"undecided", have_shown ? shown.value("undecided", false) : false},
              {"model", have_shown ? shown.value("model", std::string()) : std::string()},
              {"calibration", used_calibration},
              {"calibration_same_as_bundle", same_calibration},
              {"ranked_by_cohort", have_shown ? shown.value("ranked_by_cohort", false) : false},
              {"warnings", have_shown && shown.contains("warnings") ? shown["warnings"] : json::array()},
              {"leads", have_shown && shown.contains("leads") ? shown["leads"] : json(nullptr)},
              {"candidates", cands},
              {"error_rates", ErrorRates(calibration_, s.threshold, s.gallery_size)},
              {"recorded_as_shown", have_shown}};
    if (!same_calibration)
      j["error_rates"]["note"] =
          "the calibration in the bundle is not the one recorded at search time (see calibration); these rates "
          "are the bundle's calibration's at the same threshold";
    searches_json.push_back(std::move(j));
    ++result.searches;
  }
  json reviews_json = json::array();
  for (const ReviewRecord& r : *reviews) reviews_json.push_back(ReviewRecordJson(r));
  result.reviews = static_cast<int64_t>(reviews->size());

  const std::string now = oversight::IsoTime(oversight::SystemNow());
  json record = {
      {"format", evidence::kCaseFormat},
      {"notice", std::string(evidence::kLeadsNotice) +
                     " A possible match counts only after a second analyst confirms it."},
      {"case", CaseRecordJson(*cs)},
      {"export", {{"at", now}, {"by", who.name}, {"justification", req.justification}}},
      {"signing_key", {{"algorithm", "Ed25519"}, {"public_key", key->PublicKeyBase64()}, {"fingerprint", key->Fingerprint()}}},
      {"model", model_id},
      {"calibration", calibration_json},
      {"searches", searches_json},
      {"reviews", reviews_json},
      {"audit",
       {{"records_file", evidence::kAuditRecordsFile},
        {"chain_file", evidence::kAuditChainFile},
        {"records", result.audit_records},
        {"chain_from_seq", chain->empty() ? 0 : chain->front().first},
        {"head_seq", result.audit_head_seq},
        {"head_hash", result.audit_head},
        {"explanation",
         "records_file holds this case's records with every field, so each hash can be recomputed "
         "(docs/oversight.md, 'The hashed bytes'); chain_file lists seq and hash of every record of the gallery's "
         "log from the one before the case's first record to the head at export time, so each case record's "
         "prev_hash and hash can be placed in the whole chain. Compare head_hash with a head kept elsewhere "
         "(lineup audit verify --expect-head). The export's own record comes after the head."}}},
      {"demographic_differentials",
       {{"per_group_table", per_group_table},
        {"status", per_group_table.is_null() ? "not_measured" : "from_calibration"},
        {"search_group_fpir", "per search: decision.group_fpir (the FPIR of each probe group measured at the threshold used)"},
        {"search_differentials", "per search: decision.differentials (each group's within-group FMR and FNMR at the "
                                 "threshold used, and the sentence shown with the decision)"},
        {"note",
         per_group_table.is_null()
             ? "The calibration holds no per-group table of false-match and false-non-match rates for this model "
               "(lineup eval groups measures one; docs/accuracy.md). Each search states the FPIR that measured "
               "searches gave per group of the probe at its threshold, where the calibration has them."
             : "From the calibration file's group curves: each group's false-match rate among its own impostor pairs "
               "and false non-match rate at the calibrated thresholds (FMR 1e-3, 1e-4, 1e-5 over all pairs) and at "
               "each threshold this case's searches used, and the ratios of the highest group to the lowest "
               "(docs/accuracy.md, \"Demographic differentials\", has the full measurement)."}}},
      {"warnings", result.warnings}};

  if (Status s = evidence::WriteWholeFile((tmp / evidence::kCaseFile).string(), record.dump(1) + "\n"); !s.ok()) return s;
  if (Status s = evidence::WriteWholeFile((tmp / "README.txt").string(), kReadme); !s.ok()) return s;
  if (Status s = evidence::WriteWholeFile((tmp / "report.html").string(), evidence::ReportHtml(record, *records)); !s.ok())
    return s;
  if (Status s = evidence::WriteReportPdf(record, tmp.string(), (tmp / "report.pdf").string(), *records); !s.ok()) return s;

  // The manifest: every file but itself and its signature, by name (and no empty folder,
  // which the verifier would take for something added).
  for (const char* d : {"crops", "probes", "audit", "calibration"})
    if (fs::is_empty(tmp / d, ec)) fs::remove(tmp / d, ec);
  std::vector<std::string> names;
  for (auto it = fs::recursive_directory_iterator(tmp, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file()) names.push_back(it->path().lexically_relative(tmp).generic_string());
  if (ec) return Status::IOError(tmp.string() + ": cannot list the bundle: " + ec.message());
  std::sort(names.begin(), names.end());
  json files = json::array();
  for (const std::string& n : names) {
    if (!evidence::SafeBundlePath(n)) return Status::Internal("the bundle holds a file it cannot list: " + n);
    std::string sum;
    int64_t size = 0;
    if (Status s = evidence::HashFile((tmp / n).string(), &sum, &size); !s.ok()) return s;
    files.push_back({{"path", n}, {"sha256", sum}, {"size", size}});
    result.bytes += size;
  }
  result.files = static_cast<int64_t>(files.size());
  const json manifest = {{"format", evidence::kManifestFormat},
                         {"case_id", req.case_id},
                         {"created_at", now},
                         {"created_by", who.name},
                         {"signing_key", record["signing_key"]},
                         {"files", files}};
  const std::string manifest_text = manifest.dump(1) + "\n";
  result.manifest_sha256 = Sha256Hex(manifest_text);
  result.fingerprint = key->Fingerprint();
  const json signature = {{"algorithm", "Ed25519"},
                          {"signed_file", kBundleManifest},
                          {"manifest_sha256", result.manifest_sha256},
                          {"public_key", key->PublicKeyBase64()},
                          {"fingerprint", key->Fingerprint()},
                          {"signature", key->Sign(manifest_text)}};
  if (Status s = evidence::WriteWholeFile((tmp / kBundleManifest).string(), manifest_text); !s.ok()) return s;
  if (Status s = evidence::WriteWholeFile((tmp / kBundleSignature).string(), signature.dump(1) + "\n"); !s.ok())
    return s;

  if (fs::exists(out, ec)) fs::remove(out, ec);  // the empty directory it may replace
  fs::rename(tmp, out, ec);
  if (ec) return Status::IOError(out.string() + ": cannot put the bundle in place: " + ec.message());
  cleanup.p = out;  // from here, a failure to record removes the bundle itself
  auto rec = audit_->Append(who.name, "case_export", req.case_id,
                            json{{"justification", req.justification},
                                 {"manifest_sha256", result.manifest_sha256},
                                 {"fingerprint", result.fingerprint},
                                 {"files", result.files},
                                 {"bytes", result.bytes},
                                 {"searches", result.searches},
                                 {"audit_head_seq", result.audit_head_seq},
                                 {"bundle", out.filename().string()}}
                                .dump());
  if (!rec.ok())
    return Status::Unavailable("the export could not be recorded in the audit log (" + rec.status().message() +
                               "), so the bundle was removed");
  cleanup.p.clear();
  result.audit_seq = rec->seq;
  result.dir = out.string();
  return result;
}

}  // namespace lineup
