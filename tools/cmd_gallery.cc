// Gallery commands: init, source, enroll, search, info.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli_util.h"
#include "commands.h"
#include "lineup/audit_log.h"
#include "lineup/calibration.h"
#include "lineup/gallery.h"
#include "lineup/vector_file.h"
#include "search_report.h"

namespace lineup::cli {

// Also used by cmd_oversight.cc and cmd_serve.cc.
std::string GalleryDir(const Args& a) {
  if (a.Has("--gallery")) return a.Get("--gallery");
  if (const char* env = std::getenv("LINEUP_GALLERY"); env && *env) return env;
  return "lineup-data";
}

// The audit trail of local changes (cmd_oversight.cc): open it before changing the
// gallery, record after; RecordCliAudit returns 0 or the exit code.
Result<std::unique_ptr<AuditLog>> OpenCliAudit(const std::string& gallery_dir);
int RecordCliAudit(AuditLog& log, const std::string& action, const nlohmann::json& details);

const Command kInitCommand = {
    .name = "init",
    .summary = "create an empty gallery",
    .usage = {"init [DIR] [--json]"},
    .options = {{"--gallery", "DIR",
                 "where to create it if DIR is not given (default $LINEUP_GALLERY or ./lineup-data)"},
                kJsonOption},
    .examples = {"lineup init lineup-data"},
};

int CmdInit(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kInitCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.size() > 1)
    return Misuse(kInitCommand, "init takes one directory, got " + std::to_string(args->positional.size()));
  std::string dir = args->positional.empty() ? GalleryDir(*args) : args->positional[0];
  Status s = Gallery::Init(dir);
  if (!s.ok()) return Fail(s);
  if (args->Has("--json")) std::printf("%s\n", nlohmann::json{{"gallery", dir}}.dump().c_str());
  else std::printf("created an empty gallery in %s\nnext: lineup source add NAME --legal-basis TEXT --gallery %s\n", dir.c_str(), dir.c_str());
  return kExitOk;
}

namespace {
const Command kSourceAddCommand = {
    .name = "source add",
    .summary = "register a photo collection and the legal basis for holding it",
    .usage = {"source add NAME --legal-basis TEXT [--description T] [--collected-by T] [--collected-at DATE]",
              "source add NAME ... [--retention-until DATE] [--gallery DIR] [--json]"},
    .options = {{"--legal-basis", "TEXT",
                 "why this collection may be held and searched (needed before enrolling from it)"},
                {"--description", "TEXT", "what the collection is"},
                {"--collected-by", "TEXT", "who collected it"},
                {"--collected-at", "DATE", "when it was collected"},
                {"--retention-until", "DATE", "YYYY-MM-DD after which `source expire` erases it (default kept)"},
                kGalleryOption,
                kJsonOption},
    .examples =
        {"lineup source add samples --legal-basis \"demonstration photos (MIT licence)\" --gallery lineup-data"},
};

const Command kSourceListCommand = {
    .name = "source list",
    .summary = "the sources and their legal bases",
    .usage = {"source list [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup source list --gallery lineup-data"},
};

const Command kSourceExpireCommand = {
    .name = "source expire",
    .summary = "erase every source past its retention date (lineup serve also does this hourly)",
    .usage = {"source expire [--today YYYY-MM-DD] [--gallery DIR] [--json]"},
    .options = {{"--today", "YYYY-MM-DD", "the date to compare retention dates with (default today, UTC)"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup source expire --gallery lineup-data"},
    .reads_photos = true,
};
}  // namespace

const Command kSourceCommand = {
    .name = "source",
    .summary = "photo collections and their legal bases",
    .verbs = {&kSourceAddCommand, &kSourceListCommand, &kSourceExpireCommand},
};

int CmdSource(int argc, char** argv) {
  auto command = VerbFrom(kSourceCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  std::string verb = argv[2];
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  if (verb != "add" && !args->positional.empty())
    return Misuse(**command, (*command)->name + " takes no arguments, got \"" + args->positional[0] + "\"");
  auto cat = Catalog::Open((std::filesystem::path(GalleryDir(*args)) / "catalog.sqlite").string(), false);
  if (!cat.ok()) return Fail(cat.status());
  if (verb == "add") {
    if (args->positional.size() != 1)
      return Misuse(**command, "source add takes one NAME, got " + std::to_string(args->positional.size()));
    auto audit = OpenCliAudit(GalleryDir(*args));
    if (!audit.ok()) return Fail(audit.status());
    SourceRecord s;
    s.name = args->positional[0];
    s.legal_basis = args->Get("--legal-basis");
    s.description = args->Get("--description");
    s.collected_by = args->Get("--collected-by");
    s.collected_at = args->Get("--collected-at");
    s.retention_until = args->Get("--retention-until");
    Status st = (*cat)->AddSource(&s);
    if (!st.ok()) return Fail(st);
    if (int rc = RecordCliAudit(**audit, "source_add", {{"source", s.name}, {"legal_basis", s.legal_basis},
                                                         {"retention_until", s.retention_until}});
        rc)
      return rc;
    if (args->Has("--json"))
      std::printf("%s\n", nlohmann::json{{"source", s.name}, {"legal_basis", s.legal_basis}}.dump().c_str());
    else std::printf("source \"%s\" added (legal basis: %s)\n", s.name.c_str(), s.legal_basis.c_str());
    return kExitOk;
  }
  if (verb == "list") {
    auto list = (*cat)->Sources();
    if (!list.ok()) return Fail(list.status());
    nlohmann::json j = nlohmann::json::array();
    Table t({"source", "legal basis", "collected by", "collected at", "retention until", "created"});
    for (const auto& s : *list) {
      j.push_back({{"name", s.name}, {"description", s.description}, {"legal_basis", s.legal_basis},
                   {"collected_by", s.collected_by}, {"collected_at", s.collected_at},
                   {"retention_until", s.retention_until}, {"created_at", s.created_at}});
      t.Add({s.name, s.legal_basis, s.collected_by, s.collected_at, s.retention_until, s.created_at});
    }
    if (args->Has("--json")) std::printf("%s\n", j.dump(2).c_str());
    else t.Print();
    return kExitOk;
  }
  if (verb == "expire") {
    std::string today = args->Get("--today");
    if (today.empty()) {
      const std::time_t now = std::time(nullptr);
      std::tm tm{};
      gmtime_r(&now, &tm);
      char buf[16];
      std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
      today = buf;
    }
    cat->reset();  // the gallery opens its own catalog
    auto audit = OpenCliAudit(GalleryDir(*args));
    if (!audit.ok()) return Fail(audit.status());
    auto opts = AnalyzerOptionsFrom(*args);
    if (!opts.ok()) return Fail(opts.status());
    auto g = Gallery::Open(GalleryDir(*args), *opts);
    if (!g.ok()) return Fail(g.status());
    auto erased = (*g)->EraseExpired(today);
    if (!erased.ok()) return Fail(erased.status());
    nlohmann::json j = nlohmann::json::array();
    for (const auto& plan : *erased) {
      j.push_back({{"erased", plan.what}, {"faces", plan.face_ids.size()}, {"images", plan.images}});
      if (int rc = RecordCliAudit(**audit, "erase", {{"what", plan.what}, {"faces", plan.face_ids.size()},
                                                     {"images", plan.images}, {"reason", "retention period ended"}});
          rc)
        return rc;
      if (!args->Has("--json"))
        std::printf("erased %s: %zu face(s), %lld image(s) (retention period ended)\n", plan.what.c_str(),
                    plan.face_ids.size(), static_cast<long long>(plan.images));
    }
    if (args->Has("--json")) std::printf("%s\n", nlohmann::json{{"today", today}, {"erased", j}}.dump(2).c_str());
    else if (erased->empty()) std::printf("no source is past its retention date (%s)\n", today.c_str());
    else std::printf("run `lineup compact` to remove the erased vectors' bytes from disk\n");
    return kExitOk;
  }
  return Fail(Status::Internal("source " + verb + " has no implementation"));
}

const Command kEnrollCommand = {
    .name = "enroll",
    .summary = "find and enrol every face of photos (directories recursively)",
    .usage =
        {"enroll PATH... --source NAME [--subject NAME | --subject-from-dir] [--gallery DIR] [--threads N] [--json]"},
    .options = {{"--source", "NAME", "the registered source the photos come from (lineup source add)"},
                {"--subject", "NAME", "the person every face belongs to (default none: unlabelled faces)"},
                {"--subject-from-dir", "", "each photo's folder names its person"},
                kGalleryOption,
                {"--json", "", "JSON lines on stdout: progress every few seconds, the summary last"}},
    .examples = {"lineup enroll samples --source samples --gallery lineup-data"},
    .notes =
        "Photos already in the gallery (same SHA-256) are skipped, so an interrupted enrolment\n"
        "can be run again; problems also go to enroll-problems.log in the gallery.",
    .reads_photos = true,
};

int CmdEnroll(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEnrollCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.empty()) return Misuse(kEnrollCommand, "enroll needs at least one PATH (a photo or a directory)");
  if (!args->Has("--source")) return Misuse(kEnrollCommand, "enroll needs --source NAME");
  if (args->Has("--subject") && args->Has("--subject-from-dir"))
    return Misuse(kEnrollCommand, "--subject and --subject-from-dir cannot be combined");
  auto opts = AnalyzerOptionsFrom(*args);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  if (!opts.ok()) return Fail(opts.status());
  if (!threads.ok()) return Fail(threads.status());
  auto files = ListPhotos(args->positional);
  if (!files.ok()) return Fail(files.status());
  auto g = Gallery::Open(GalleryDir(*args), *opts);
  if (!g.ok()) return Fail(g.status());
  auto audit = OpenCliAudit(GalleryDir(*args));
  if (!audit.ok()) return Fail(audit.status());
  Progress progress("files", files->size());
  // With --json, a progress line every few seconds for machines; the bar is for people.
  auto last_line = std::chrono::steady_clock::now();
  const auto started = last_line;
  EnrollOptions eo;
  eo.source = args->Get("--source");
  eo.subject = args->Get("--subject");
  eo.subject_from_dir = args->Has("--subject-from-dir");
  eo.workers = *threads;
  eo.note = [](const std::string& what) { std::fprintf(stderr, "lineup: %s\n", what.c_str()); };
  auto r = (*g)->Enroll(*files, eo,
                        [&](int64_t done, const EnrollReport& so_far) {
                          progress.Tick(static_cast<size_t>(done), ", " + std::to_string(so_far.faces) + " faces");
                          auto now = std::chrono::steady_clock::now();
                          if (args->Has("--json") && now - last_line > std::chrono::seconds(2)) {
                            last_line = now;
                            double secs = std::chrono::duration<double>(now - started).count();
                            std::printf("%s\n", nlohmann::json{{"progress", {{"files_done", done},
                                                                              {"files", so_far.files},
                                                                              {"faces", so_far.faces},
                                                                              {"photos_per_s", done / std::max(secs, 1e-3)}}}}
                                                    .dump()
                                                    .c_str());
                            std::fflush(stdout);
                          }
                        });
  progress.Finish();
  if (!r.ok()) return Fail(r.status());
  if (int rc = RecordCliAudit(**audit, "enroll", {{"source", eo.source},
                                                  {"subject", eo.subject_from_dir ? "(from directories)" : eo.subject},
                                                  {"files", r->files}, {"enrolled_images", r->enrolled}, {"faces", r->faces},
                                                  {"duplicates_skipped", r->duplicates},
                                                  {"problems", r->problems.size()}, {"gallery_size", (*g)->size()}});
      rc)
    return rc;
  // Problems also go to a log file in the gallery, so they outlive the terminal.
  if (!r->problems.empty()) {
    std::ofstream log(std::filesystem::path(GalleryDir(*args)) / "enroll-problems.log", std::ios::app);
    std::time_t t = std::time(nullptr);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    for (const auto& [path, why] : r->problems) log << when << "\t" << path << "\t" << why << "\n";
  }
  if (args->Has("--json")) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& [path, why] : r->problems) problems.push_back({{"path", path}, {"reason", why}});
    std::printf("%s\n", nlohmann::json{{"files", r->files}, {"enrolled_images", r->enrolled}, {"faces", r->faces},
                                       {"duplicates_skipped", r->duplicates}, {"problems", problems},
                                       {"gallery_size", (*g)->size()}}.dump().c_str());
  } else {
    for (const auto& [path, why] : r->problems) std::fprintf(stderr, "lineup: %s\n", why.c_str());
    std::printf("%lld file(s): %lld image(s) enrolled with %lld face(s), %lld already in the gallery, %zu problem(s); "
                "gallery now holds %lld face(s)\n",
                static_cast<long long>(r->files), static_cast<long long>(r->enrolled), static_cast<long long>(r->faces),
                static_cast<long long>(r->duplicates), r->problems.size(), static_cast<long long>((*g)->size()));
    if (!r->problems.empty())
      std::printf("problems listed above and in %s/enroll-problems.log\n", GalleryDir(*args).c_str());
  }
  return kExitOk;
}

const Command kSearchCommand = {
    .name = "search",
    .summary = "ranked candidates for a probe face, with score, FPIR and provenance",
    .usage = {"search PROBE [--face N] [--top K] [--fmr 1e-3] [--all] [--subjects] [--json]",
              "search PROBE ... [--html REPORT.html] [--gallery DIR]", "search --vector FILE [...]"},
    .options = {{"--face", "N",
                 "search with face #N of the probe, as detect numbers them (default the largest usable)"},
                {"--top", "K", "at most K candidates (default 10)"},
                {"--fmr", "RATE", "the false-match rate of the threshold candidates must reach (default 1e-3)"},
                {"--all", "", "show the nearest candidates even below the threshold"},
                {"--subjects", "", "group candidates by known subject, each scored by their best face"},
                {"--html", "REPORT.html", "also write a report with the probe beside each candidate"},
                {"--vector", "FILE", "search with the first vector of a vector file (lineup embed) instead of a photo"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup search samples/sample6.jpg --top 5 --all --gallery lineup-data"},
    .notes =
        "Candidates are leads for human review, never identifications. Exit code 1 if none\n"
        "reaches the threshold.",
    .reads_photos = true,
    .variants = {&kRemoteSearchCommand},
};

int CmdSearch(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kSearchCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->Has("--vector") && !args->positional.empty())
    return Misuse(kSearchCommand, "search --vector takes no probe photo, got " + std::to_string(args->positional.size()));
  if (!args->Has("--vector") && args->positional.size() != 1)
    return Misuse(kSearchCommand, args->positional.empty() ? std::string("search needs a probe photo (or --vector FILE)")
                                                           : "search takes one probe photo, got " +
                                                                 std::to_string(args->positional.size()));
  auto opts = AnalyzerOptionsFrom(*args);
  auto top = args->GetInt("--top", 10, 1, 10000);
  auto fmr = args->GetDouble("--fmr", 1e-3, 1e-9, 0.5);
  auto face_n = args->GetInt("--face", 0, 1, 100000);
  for (const Status& s : {opts.status(), top.status(), fmr.status(), face_n.status()})
    if (!s.ok()) return Fail(s);
  auto g = Gallery::Open(GalleryDir(*args), *opts);
  if (!g.ok()) return Fail(g.status());
  auto cal = Calibration::ForModel((*g)->model());
  if (!cal.ok()) return Fail(cal.status());
  auto threshold = cal->ThresholdFor(*fmr);
  if (!threshold.ok()) return Fail(threshold.status());

  SearchReport report;
  nlohmann::json probe;
  std::vector<float> vec;
  std::vector<std::string> warnings;
  if (args->Has("--vector")) {
    auto vf = VectorFile::Read(args->Get("--vector"));
    if (!vf.ok()) return Fail(vf.status());
    if (vf->model_id != (*g)->model().Id())
      return Fail(Status::InvalidArgument(args->Get("--vector") + ": vectors of " + vf->model_id + ", gallery holds " +
                                          (*g)->model().Id()));
    if (vf->records.empty()) return Fail(Status::InvalidArgument(args->Get("--vector") + ": no vectors"));
    vec = vf->records[0].vector;
    probe = {{"vector_file", args->Get("--vector")}, {"photo", vf->records[0].photo}};
  } else {
    opts->embedder = (*g)->analyzer_options().embedder;  // the gallery's model
    auto analyzer = FaceAnalyzer::Create(*opts);
    if (!analyzer.ok()) return Fail(analyzer.status());
    auto chosen = AnalyzeAndChoose(**analyzer, args->positional[0], *face_n);
    if (!chosen.ok()) return Fail(chosen.status());
    const PhotoAnalysis& p = chosen->photo;
    const int k = chosen->index;
    const Face& f = chosen->face();
    vec = f.embedding;
    report.probe_path = args->positional[0];
    report.probe_box = f.box;
    report.probe_quality = f.quality.score;
    report.probe_reasons = f.quality.reasons;
    probe = FaceJson(f);
    probe["path"] = args->positional[0];
    probe["face"] = k + 1;
    probe["faces_in_photo"] = p.faces.size();
    if (!f.quality.reasons.empty())
      warnings.push_back("LOW-QUALITY PROBE (" + Reasons(f.quality) + "): expect missed and false candidates");
    if (p.faces.size() > 1 && *face_n == 0)
      warnings.push_back(std::to_string(p.faces.size()) + " faces in the probe photo; searched #" + std::to_string(k + 1) +
                         " (the largest usable); choose with --face N");
  }
  const int64_t n = (*g)->size();
  const bool by_subject = args->Has("--subjects");
  // Grouping by subject looks deeper, so that a known person's other faces are seen.
  auto res = (*g)->Search(vec, by_subject ? std::max(*top * 5, 50) : *top);
  if (!res.ok()) return Fail(res.status());
  auto fpir_at = [&](float score) {
    // FPIR of a search of N faces at this score: 1 - (1 - FMR(score))^N.
    return -std::expm1(static_cast<double>(n) * std::log1p(-std::min(cal->FmrAt(score), 1.0 - 1e-12)));
  };
  nlohmann::json subjects = nlohmann::json::array();
  Table st({"subject", "score (best face)", "FPIR", "faces seen", "best face", "image"});
  if (by_subject) {
    // A known person scores as their best-matching face; unlabelled faces follow.
    std::vector<std::string> order;
    std::map<std::string, std::vector<const Candidate*>> of;
    for (const Candidate& c : res->front()) {
      if (c.subject.empty()) continue;
      if (!of.count(c.subject)) order.push_back(c.subject);
      of[c.subject].push_back(&c);
    }
    for (const auto& name : order) {
      const Candidate& best = *of[name].front();  // results come best first
      if (best.score < *threshold && !args->Has("--all")) continue;
      if (static_cast<int>(subjects.size()) >= *top) break;
      nlohmann::json faces = nlohmann::json::array();
      for (const Candidate* c : of[name]) faces.push_back({{"face_id", c->face_id}, {"score", c->score}});
      subjects.push_back({{"subject", name}, {"score", best.score}, {"fpir", fpir_at(best.score)},
                          {"best_face_id", best.face_id}, {"image", best.image.uri}, {"source", best.source.name},
                          {"faces", faces}, {"above_threshold", best.score >= *threshold}});
      st.Add({name, Fmt("%.4f", best.score), Fmt("%.2g", fpir_at(best.score)), std::to_string(of[name].size()),
              std::to_string(best.face_id), best.image.uri});
    }
    std::vector<Candidate> unlabelled;
    for (const Candidate& c : res->front())
      if (c.subject.empty() && static_cast<int>(unlabelled.size()) < *top) unlabelled.push_back(c);
    res->front() = std::move(unlabelled);
  }
  nlohmann::json cands = nlohmann::json::array();
  Table t({"rank", "score", "FPIR", "face", "subject", "image", "source", "box", "quality"});
  int rank = 0;
  for (const Candidate& c : res->front()) {
    ++rank;
    const double fpir = fpir_at(c.score);
    if (c.score < *threshold && !args->Has("--all")) continue;
    report.candidates.push_back({c, (*g)->ThumbnailPath(c.face_id), fpir, c.score >= *threshold});
    cands.push_back({{"rank", rank},
                     {"face_id", c.face_id},
                     {"score", c.score},
                     {"rank_score", c.rank_score},
                     {"fpir", fpir},
                     {"image", c.image.uri},
                     {"image_sha256", c.image.sha256},
                     {"captured_at", c.image.captured_at},
                     {"source", c.source.name},
                     {"legal_basis", c.source.legal_basis},
                     {"subject", c.subject.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.subject)},
                     {"box", {c.face.box.x, c.face.box.y, c.face.box.width, c.face.box.height}},
                     {"quality", c.face.quality},
                     {"quality_reasons", c.face.quality_reasons},
                     {"above_threshold", c.score >= *threshold}});
    t.Add({std::to_string(rank), Fmt("%.4f", c.score), Fmt("%.2g", fpir), std::to_string(c.face_id),
           c.subject.empty() ? "-" : c.subject, c.image.uri,
           c.source.name, BoxText(c.face.box), Fmt("%.2f", c.face.quality)});
  }
  if (args->Has("--html")) {
    report.warnings = warnings;
    report.gallery_size = n;
    report.ranked_by_cohort = (*g)->RankedByCohort();
    report.fmr = *fmr;
    report.threshold = *threshold;
    report.model = (*g)->model().Id();
    Status w = WriteSearchReport(args->Get("--html"), report);
    if (!w.ok()) return Fail(w);
  }
  if (args->Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"probe", probe},
                                       {"gallery_size", n},
                                       {"html", args->Get("--html")},
                                       {"threshold", *threshold},
                                       {"fmr", *fmr},
                                       {"model", (*g)->model().Id()},
                                       {"candidates", cands},
                                       {"warnings", warnings},
                                       {"subjects", by_subject ? subjects : nlohmann::json(nullptr)},
                                       {"note",
                                        "candidates are leads for human review, not identifications; "
                                        "fpir = 1 - (1 - FMR(score))^gallery_size; candidates are ordered by "
                                        "rank_score (the score normalised against the gallery, docs/gallery.md)"}}
                            .dump(2)
                            .c_str());
  } else {
    for (const auto& w : warnings) std::printf("WARNING: %s\n", w.c_str());
    std::printf("gallery: %lld faces; threshold %.4f at FMR %g per comparison; FPIR = 1 - (1 - FMR(score))^%lld\n",
                static_cast<long long>(n), *threshold, *fmr, static_cast<long long>(n));
    if ((*g)->RankedByCohort())
      std::printf(
          "ranked by score relative to each face's similarity to the whole gallery (faces that resemble "
          "everyone rank lower); thresholds and FPIR use the score\n");
    if (by_subject) {
      std::printf("\nknown subjects (scored by their best-matching face):\n");
      if (subjects.empty()) std::printf("none at or above the threshold\n");
      else st.Print();
      std::printf("\nunlabelled faces:\n");
    }
    if (cands.empty()) std::printf("no candidate at or above the threshold%s\n", args->Has("--all") ? "" : " (--all shows the nearest)");
    else t.Print();
    std::printf("candidates are leads for human review, never identifications\n");
    if (args->Has("--html")) std::printf("report: %s\n", args->Get("--html").c_str());
  }
  return cands.empty() && subjects.empty() ? kExitNo : kExitOk;
}

const Command kInfoCommand = {
    .name = "info",
    .summary = "counts per source, disk and memory use",
    .usage = {"info [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup info --gallery lineup-data"},
};

int CmdInfo(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kInfoCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kInfoCommand, "info takes no arguments, got \"" + args->positional[0] + "\"");
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  const std::string dir = GalleryDir(*args);
  auto g = Gallery::Open(dir, *opts);
  if (!g.ok()) return Fail(g.status());
  auto counts = (*g)->catalog().Counts();
  auto by = (*g)->catalog().CountsBySource();
  if (!counts.ok()) return Fail(counts.status());
  if (!by.ok()) return Fail(by.status());
  int64_t disk = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) disk += static_cast<int64_t>(e.file_size(ec));
  nlohmann::json sources = nlohmann::json::array();
  Table t({"source", "images", "faces"});
  for (const auto& [name, c] : *by) {
    sources.push_back({{"name", name}, {"images", c.first}, {"faces", c.second}});
    t.Add({name, std::to_string(c.first), std::to_string(c.second)});
  }
  const int64_t index_bytes = (*g)->IndexMemoryBytes();
  // Resident memory of this process with the gallery open (from /proc).
  int64_t rss = 0;
  {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) rss = std::atoll(line.c_str() + 6) * 1024;
  }
  if (args->Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"gallery", dir}, {"faces", counts->faces}, {"images", counts->images},
                                       {"subjects", counts->subjects}, {"sources", sources}, {"disk_bytes", disk},
                                       {"index", (*g)->IndexSpec()},
                                       {"index_memory_bytes", index_bytes}, {"process_rss_bytes", rss},
                                       {"model", (*g)->model().Id()},
                                       {"schema_version", Catalog::kSchemaVersion}}.dump(2).c_str());
  } else {
    std::printf("gallery %s: %lld faces in %lld images, %lld subjects, %lld sources\n", dir.c_str(),
                static_cast<long long>(counts->faces), static_cast<long long>(counts->images),
                static_cast<long long>(counts->subjects), static_cast<long long>(counts->sources));
    std::printf("disk %.1f MB, index %s in memory %.1f MB, process memory %.1f MB, model %s\n\n", disk / 1e6,
                (*g)->IndexSpec().c_str(), index_bytes / 1e6, rss / 1e6, (*g)->model().Id().c_str());
    t.Print();
  }
  return kExitOk;
}

const Command kEraseCommand = {
    .name = "erase",
    .summary = "remove faces now (no longer searchable); `compact` removes their bytes",
    .usage = {"erase --subject NAME | --source NAME | --image SHA256 [--reason TEXT] [--gallery DIR] [--json]"},
    .options = {{"--subject", "NAME", "every face of this person"},
                {"--source", "NAME", "every face of this source"},
                {"--image", "SHA256", "every face of the photo with this SHA-256"},
                {"--reason", "TEXT", "why, for the audit log"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup erase --source samples --reason \"demo over\" --gallery lineup-data"},
};

int CmdErase(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEraseCommand);
  if (!args.ok()) return Fail(args.status());
  int given = args->Has("--subject") + args->Has("--source") + args->Has("--image");
  if (!args->positional.empty())
    return Misuse(kEraseCommand, "erase takes no arguments, got \"" + args->positional[0] + "\"");
  if (given == 0) return Misuse(kEraseCommand, "erase needs --subject NAME, --source NAME or --image SHA256");
  if (given > 1) return Misuse(kEraseCommand, "erase takes only one of --subject, --source and --image");
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  auto g = Gallery::Open(GalleryDir(*args), *opts);
  if (!g.ok()) return Fail(g.status());
  auto audit = OpenCliAudit(GalleryDir(*args));
  if (!audit.ok()) return Fail(audit.status());
  const char* kind = args->Has("--subject") ? "subject" : args->Has("--source") ? "source" : "image";
  auto plan = (*g)->Erase(kind, args->Get(std::string("--") + kind), args->Get("--reason"));
  if (!plan.ok()) return Fail(plan.status());
  if (int rc = RecordCliAudit(**audit, "erase", {{"what", plan->what}, {"faces", plan->face_ids.size()},
                                                 {"images", plan->images}, {"reason", args->Get("--reason")}});
      rc)
    return rc;
  if (args->Has("--json"))
    std::printf("%s\n", nlohmann::json{{"erased", plan->what}, {"faces", plan->face_ids.size()}, {"images", plan->images},
                                       {"gallery_size", (*g)->size()}}.dump().c_str());
  else
    std::printf("erased %s: %zu face(s), %lld image(s); they are no longer searchable. Run `lineup compact` to remove "
                "their vector bytes from disk.\n",
                plan->what.c_str(), plan->face_ids.size(), static_cast<long long>(plan->images));
  return kExitOk;
}

const Command kCompactCommand = {
    .name = "compact",
    .summary = "rewrite the vector file without erased faces and rebuild the index",
    .usage = {"compact [--index SPEC] [--gallery DIR] [--json]"},
    .options = {{"--index", "SPEC", "the index to build: exact, ivfpq,... (docs/gallery.md; default chosen by size)"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup compact --gallery lineup-data"},
};

int CmdCompact(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kCompactCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kCompactCommand, "compact takes no arguments, got \"" + args->positional[0] + "\"");
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  auto g = Gallery::Open(GalleryDir(*args), *opts);
  if (!g.ok()) return Fail(g.status());
  auto audit = OpenCliAudit(GalleryDir(*args));
  if (!audit.ok()) return Fail(audit.status());
  const auto t0 = std::chrono::steady_clock::now();
  Status s = (*g)->Compact(args->Get("--index"), [](const std::string& what) {
    std::fprintf(stderr, "lineup: %s\n", what.c_str());
  });
  if (!s.ok()) return Fail(s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (int rc = RecordCliAudit(**audit, "compact", {{"faces", (*g)->size()}, {"index", (*g)->IndexSpec()}}); rc) return rc;
  if (args->Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"faces", (*g)->size()}, {"index", (*g)->IndexSpec()},
                                       {"index_memory_bytes", (*g)->IndexMemoryBytes()}, {"seconds", secs}}.dump().c_str());
  } else {
    std::printf("compacted in %.1f s: %lld live face(s) kept, index %s; erased faces' vectors are gone from disk\n", secs,
                static_cast<long long>((*g)->size()), (*g)->IndexSpec().c_str());
  }
  return kExitOk;
}

const Command kOptOutCommand = {
    .name = "optout",
    .summary = "never return or enrol this person again",
    .usage = {"optout PHOTO [--face N] [--reason TEXT] [--gallery DIR] [--json]"},
    .options = {{"--face", "N",
                 "the person's face #N in the photo, as detect numbers them (default the largest usable)"},
                {"--reason", "TEXT", "why, for the audit log"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup optout samples/sample2.jpg --reason \"asked by email\" --gallery lineup-data"},
    .reads_photos = true,
};

int CmdOptOut(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kOptOutCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.size() != 1)
    return Misuse(kOptOutCommand, "optout takes one photo, got " + std::to_string(args->positional.size()));
  auto opts = AnalyzerOptionsFrom(*args);
  auto face_n = args->GetInt("--face", 0, 1, 100000);
  if (!opts.ok()) return Fail(opts.status());
  if (!face_n.ok()) return Fail(face_n.status());
  auto g = Gallery::Open(GalleryDir(*args), *opts);
  if (!g.ok()) return Fail(g.status());
  opts->embedder = (*g)->analyzer_options().embedder;  // the gallery's model
  auto analyzer = FaceAnalyzer::Create(*opts);
  if (!analyzer.ok()) return Fail(analyzer.status());
  auto chosen = AnalyzeAndChoose(**analyzer, args->positional[0], *face_n);
  if (!chosen.ok()) return Fail(chosen.status());
  const int k = chosen->index;
  auto audit = OpenCliAudit(GalleryDir(*args));
  if (!audit.ok()) return Fail(audit.status());
  Status s = (*g)->OptOut(chosen->face().embedding, args->Get("--reason"));
  if (!s.ok()) return Fail(s);
  // The face's number in the photo, never its vector.
  if (int rc = RecordCliAudit(**audit, "optout", {{"face", k + 1}, {"reason", args->Get("--reason")}}); rc) return rc;
  if (args->Has("--json"))
    std::printf("%s\n", nlohmann::json{{"opted_out", {{"photo", args->positional[0]}, {"face", k + 1}}}}.dump().c_str());
  else
    std::printf("opted out face #%d of %s: search will not return this person and enrolment will refuse them\n", k + 1,
                args->positional[0].c_str());
  return kExitOk;
}

}  // namespace lineup::cli
