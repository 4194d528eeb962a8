// lineup search: who in the gallery looks like this face? Ranked leads, each with its
// score, FPIR and provenance; the decision is a target FPIR for the gallery's size. The
// search is an accountable act (investigations.h): recorded in the audit log as
// cli:<user>, and in a case with --case.
#include <filesystem>
#include <map>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/differentials.h"
#include "lineup/gallery.h"
#include "lineup/image.h"
#include "lineup/investigations.h"
#include "lineup/vector_file.h"
#include "search_report.h"

namespace lineup::cli {

const Command kSearchCommand = {
    .name = "search",
    .summary = "ranked leads for a probe face, with score, FPIR and provenance",
    .usage = {"search PROBE [--face N] [--top K] [--fpir 0.01 | --fmr RATE] [--all] [--subjects] [--json]",
              "search PROBE ... [--case ID] [--justification TEXT] [--html REPORT.html] [--gallery DIR]",
              "search --vector FILE [...]"},
    .options = {{"--face", "N",
                 "search with face #N of the probe, as detect numbers them (default the largest usable)"},
                {"--top", "K", "at most K candidates (default 10)"},
                {"--fpir", "RATE",
                 "the decision: at most this share of searches for someone not in the gallery may return a lead "
                 "(default 0.01); the threshold follows from the gallery's size"},
                {"--fmr", "RATE", "for experts: a threshold by false-match rate per comparison instead of --fpir"},
                {"--all", "", "also show the nearest candidates that are not leads (below the threshold, or withheld)"},
                {"--subjects", "", "group candidates by known subject, each scored by their best face"},
                {"--keep-probe", "", "with --case: the case keeps the probe photo itself for its evidence export "
                                     "(the searched face's crop is always kept)"},
                {"--html", "REPORT.html", "also write a report with the probe beside each candidate"},
                {"--vector", "FILE", "search with the first vector of a vector file (lineup embed) instead of a photo"},
                kCaseOption,
                kJustificationOption,
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup search samples/sample6.jpg --top 5 --all --gallery lineup-data",
                 "lineup search samples/sample6.jpg --justification \"CCTV still, robbery 2026-114\" --gallery lineup-data"},
    .notes =
        "Candidates are leads for human review, never identifications. Exit code 0 if there is a lead,\n"
        "1 if none reaches the threshold, 3 if the probe face is too poor to decide on (quality under\n"
        "0.01). Runs beside `lineup serve` (the gallery is only read). Every search is recorded in the\n"
        "gallery's audit log as cli:<user>, with --case also in that case.",
    .reads_photos = true,
    .variants = {&kRemoteSearchCommand},
};

namespace {

std::string Percent(double p) {
  if (p >= 0.1) return Fmt("%.0f%%", p * 100);
  if (p >= 0.001) return Fmt("%.2g%%", p * 100);
  return "1 in " + Fmt("%.0f", 1 / p);
}

nlohmann::json CandidateJson(const Lead& l) {
  const Candidate& c = l.candidate;
  return {{"rank", l.rank},
          {"face_id", c.face_id},
          {"score", c.score},
          {"rank_score", c.rank_score},
          {"fpir", l.fpir},
          {"image", c.image.uri},
          {"image_sha256", c.image.sha256},
          {"captured_at", c.image.captured_at},
          {"source", c.source.name},
          {"legal_basis", c.source.legal_basis},
          {"subject", c.subject.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.subject)},
          {"box", {c.face.box.x, c.face.box.y, c.face.box.width, c.face.box.height}},
          {"quality", c.face.quality},
          {"quality_reasons", c.face.quality_reasons},
          {"above_threshold", l.above_threshold},
          {"withheld", l.withheld.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.withheld)}};
}

}  // namespace

int CmdSearch(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kSearchCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->Has("--vector") && !args->positional.empty())
    return Misuse(kSearchCommand, "search --vector takes no probe photo, got " + std::to_string(args->positional.size()));
  if (!args->Has("--vector") && args->positional.size() != 1)
    return Misuse(kSearchCommand, args->positional.empty() ? std::string("search needs a probe photo (or --vector FILE)")
                                                           : "search takes one probe photo, got " +
                                                                 std::to_string(args->positional.size()));
  if (args->Has("--fpir") && args->Has("--fmr"))
    return Misuse(kSearchCommand, "--fpir and --fmr are two ways to set the threshold: give one");
  auto opts = AnalyzerOptionsFrom(*args);
  auto top = args->GetInt("--top", 10, 1, 10000);
  auto fpir = args->GetDouble("--fpir", kDefaultSearchFpir, 1e-9, 0.5);
  auto fmr = args->GetDouble("--fmr", 0, 1e-9, 0.5);
  auto face_n = args->GetInt("--face", 0, 1, 100000);
  for (const Status& s : {opts.status(), top.status(), fpir.status(), fmr.status(), face_n.status()})
    if (!s.ok()) return Fail(s);
  auto record = OpenCliRecord(*args, true);
  if (!record.ok()) return Fail(record.status());
  // Only read: a search runs beside `lineup serve` or an enrolment holding the gallery.
  auto g = Gallery::OpenReadOnly(record->gallery_dir, *opts);
  if (!g.ok()) return Fail(g.status());
  auto cal = Calibration::ForModel((*g)->model());
  if (!cal.ok()) return Fail(cal.status());

  SearchRequest req;
  req.case_id = record->case_id;
  req.justification = record->justification;
  req.top = *top;
  req.fpir = *fpir;
  req.fmr = args->Has("--fmr") ? *fmr : 0;
  req.all = args->Has("--all");
  req.by_subject = args->Has("--subjects");
  req.keep_probe_photo = args->Has("--keep-probe");
  if (req.keep_probe_photo && record->case_id <= 0)
    return Misuse(kSearchCommand, "--keep-probe keeps the probe in a case: name it with --case ID");
  req.probe.face = *face_n;
  std::unique_ptr<FaceAnalyzer> analyzer;
  nlohmann::json probe;
  if (args->Has("--vector")) {
    auto vf = VectorFile::Read(args->Get("--vector"));
    if (!vf.ok()) return Fail(vf.status());
    if (vf->records.empty()) return Fail(Status::InvalidArgument(args->Get("--vector") + ": no vectors"));
    req.probe.vector = vf->records[0].vector;
    req.probe.vector_model = vf->model_id;
    req.probe.name = args->Get("--vector");
    probe = {{"vector_file", args->Get("--vector")}, {"photo", vf->records[0].photo}};
  } else {
    auto a = FaceAnalyzer::Create((*g)->analyzer_options());  // embeds with the gallery's model
    if (!a.ok()) return Fail(a.status());
    analyzer = std::move(*a);
    auto bytes = ReadFileBytes(args->positional[0], opts->decode.max_bytes);
    if (!bytes.ok()) return Fail(bytes.status());
    req.probe.photo = std::move(*bytes);
    req.probe.name = args->positional[0];
  }
  InvestigationsOptions io;
  io.decode = opts->decode;
  Investigations inv(g->get(), record->cases.get(), record->audit.get(), *cal, io);
  auto r = inv.Search(CliPrincipal(), req, analyzer.get());
  if (!r.ok()) return Fail(r.status());
  if (!args->Has("--vector")) {
    const Face& f = r->probe.faces[static_cast<size_t>(r->probe.searched)];
    probe = FaceJson(f);
    probe["path"] = r->probe.name;
    probe["face"] = r->probe.searched + 1;
    probe["faces_in_photo"] = r->probe.faces.size();
    probe["image_sha256"] = r->probe.sha256;
  }
  std::vector<std::string> warnings = r->warnings;
  if (req.case_id == 0)
    warnings.push_back("recorded in the audit log as " + CliActor() +
                       " without a case; give --case ID and --justification TEXT to tie it to an investigation");

  if (args->Has("--html")) {
    Status w = WriteSearchReport(args->Get("--html"), *r, args->Has("--vector") ? "" : r->probe.name,
                                 [&](int64_t id) { return (*g)->ThumbnailPath(id); }, &*cal);
    if (!w.ok()) return Fail(w);
  }
  if (args->Has("--json")) {
    nlohmann::json cands = nlohmann::json::array();
    for (const Lead& l : r->leads) cands.push_back(CandidateJson(l));
    nlohmann::json subjects = nlohmann::json::array();
    for (const SubjectLead& s : r->subjects) {
      const Lead& best = r->leads[s.best];
      nlohmann::json faces = nlohmann::json::array();
      for (int64_t id : s.face_ids) faces.push_back({{"face_id", id}});
      subjects.push_back({{"subject", s.subject}, {"score", best.candidate.score}, {"fpir", best.fpir},
                          {"best_face_id", best.candidate.face_id}, {"image", best.candidate.image.uri},
                          {"source", best.candidate.source.name}, {"faces", faces},
                          {"above_threshold", s.above_threshold}});
    }
    const SearchThreshold& t = r->threshold;
    std::printf("%s\n", nlohmann::json{{"probe", probe},
                                       {"gallery_size", r->gallery_size},
                                       {"html", args->Get("--html")},
                                       {"threshold", t.threshold},
                                       {"fmr", t.fmr},
                                       {"decision", SearchThresholdJson(t)},
                                       {"undecided", r->undecided},
                                       {"leads", r->LeadCount()},
                                       {"model", r->model},
                                       {"calibration", {{"file", r->calibration}, {"sha256", r->calibration_sha256}}},
                                       {"candidates", cands},
                                       {"warnings", warnings},
                                       {"subjects", req.by_subject ? subjects : nlohmann::json(nullptr)},
                                       {"case_id", r->case_id ? nlohmann::json(r->case_id) : nlohmann::json(nullptr)},
                                       {"search_id", r->search_id ? nlohmann::json(r->search_id) : nlohmann::json(nullptr)},
                                       {"audit_seq", r->audit_seq},
                                       {"note",
                                        "candidates are leads for human review, not identifications; "
                                        "fpir = 1 - (1 - FMR(score))^gallery_size; candidates are ordered by "
                                        "rank_score (the score normalised against the gallery, docs/gallery.md)"}}
                            .dump(2)
                            .c_str());
  } else {
    for (const auto& w : warnings) std::printf("WARNING: %s\n", w.c_str());
    std::printf("gallery: %lld faces; %s\n", static_cast<long long>(r->gallery_size), r->threshold.Describe().c_str());
    if (const std::string d = DifferentialsText(r->threshold); !d.empty())
      std::printf("%s The full table: docs/accuracy.md, \"Demographic differentials\" (the server: GET "
                  "/v1/differentials).\n",
                  d.c_str());
    if (r->ranked_by_cohort)
      std::printf(
          "ranked by score relative to each face's similarity to the whole gallery (faces that resemble "
          "everyone rank lower); thresholds and FPIR use the score\n");
    if (req.by_subject) {
      Table st({"subject", "score (best face)", "FPIR", "faces seen", "best face", "image"});
      for (const SubjectLead& s : r->subjects) {
        const Lead& best = r->leads[s.best];
        st.Add({s.subject + (s.above_threshold ? "" : " (not a lead)"), Fmt("%.4f", best.candidate.score),
                Percent(best.fpir), std::to_string(s.face_ids.size()), std::to_string(best.candidate.face_id),
                best.candidate.image.uri});
      }
      std::printf("\nknown subjects (scored by their best-matching face):\n");
      if (r->subjects.empty()) std::printf("none at or above the threshold\n");
      else st.Print();
      std::printf("\nall candidates:\n");
    }
    Table t({"rank", "score", "FPIR", "lead", "face", "subject", "image", "source", "box", "quality"});
    for (const Lead& l : r->leads) {
      const Candidate& c = l.candidate;
      t.Add({std::to_string(l.rank), Fmt("%.4f", c.score), Percent(l.fpir),
             l.above_threshold ? "LEAD" : (l.withheld.empty() ? "below" : "withheld: " + l.withheld),
             std::to_string(c.face_id), c.subject.empty() ? "-" : c.subject, c.image.uri, c.source.name,
             BoxText(c.face.box), Fmt("%.2f", c.face.quality)});
    }
    if (r->leads.empty()) std::printf("no lead%s\n", req.all ? "" : " (--all shows the nearest candidates)");
    else t.Print();
    std::printf("candidates are leads for human review, never identifications\n");
    if (args->Has("--html")) std::printf("report: %s\n", args->Get("--html").c_str());
  }
  if (r->undecided) return kExitUndecided;
  return r->LeadCount() > 0 ? kExitOk : kExitNo;
}

}  // namespace lineup::cli
