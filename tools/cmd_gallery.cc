// Gallery commands: init, source, enroll, search, info.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/audit_log.h"
#include "lineup/calibration.h"
#include "lineup/gallery.h"
#include "lineup/person_investigations.h"
#include "lineup/signing_key.h"
#include "lineup/vector_file.h"
#include "search_report.h"

namespace lineup::cli {

const Command kInitCommand = {
    .name = "init",
    .summary = "create an empty gallery (and its signing key)",
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
  // The key that signs the gallery's evidence bundles, made with it (signing_key.h).
  auto audit = OpenCliAudit(dir);
  if (!audit.ok()) return Fail(audit.status());
  auto key = SigningKey::LoadOrCreate(dir, audit->get(), CliActor());
  if (!key.ok()) return Fail(key.status().WithContext("gallery created, but its signing key"));
  if (args->Has("--json"))
    std::printf("%s\n", nlohmann::json{{"gallery", dir}, {"signing_key_fingerprint", key->Fingerprint()}}.dump().c_str());
  else
    std::printf("created an empty gallery in %s\nsigning key fingerprint %s (lineup key show)\nnext: lineup source add NAME "
                "--legal-basis TEXT --gallery %s\n",
                dir.c_str(), key->Fingerprint().c_str(), dir.c_str());
  return kExitOk;
}

namespace {
const Command kSourceAddCommand = {
    .name = "source add",
    .summary = "register a photo collection and the legal basis for holding it",
    .usage = {"source add NAME --legal-basis TEXT [--description T] [--collected-by T] [--collected-at DATE]",
              "source add NAME ... [--retention-until DATE] [--purposes search,network] [--gallery DIR] [--json]"},
    .options = {{"--legal-basis", "TEXT",
                 "why this collection may be held and searched (needed before enrolling from it)"},
                {"--description", "TEXT", "what the collection is"},
                {"--collected-by", "TEXT", "who collected it"},
                {"--collected-at", "DATE", "when it was collected"},
                {"--retention-until", "DATE", "YYYY-MM-DD after which `source expire` erases it (default kept)"},
                {"--purposes", "LIST", "what its legal basis allows: search, network (co-appearance analysis); "
                                       "comma-separated (default search)"},
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

const Command kSourcePurposesCommand = {
    .name = "source purposes",
    .summary = "change what a source's photos may be used for (search, network); audited",
    .usage = {"source purposes NAME LIST [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup source purposes samples search,network --gallery lineup-data"},
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
    .verbs = {&kSourceAddCommand, &kSourceListCommand, &kSourcePurposesCommand, &kSourceExpireCommand},
};

int CmdSource(int argc, char** argv) {
  auto command = VerbFrom(kSourceCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  std::string verb = argv[2];
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  if (verb != "add" && verb != "purposes" && !args->positional.empty())
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
    auto purposes = ParsePurposes(args->Get("--purposes", "search"));
    if (!purposes.ok()) return Fail(purposes.status());
    s.purposes = *purposes;
    Status st = (*cat)->AddSource(&s);
    if (!st.ok()) return Fail(st);
    if (int rc = RecordCliAudit(**audit, "source_add", {{"source", s.name}, {"legal_basis", s.legal_basis},
                                                         {"retention_until", s.retention_until},
                                                         {"purposes", s.purposes}});
        rc)
      return rc;
    if (args->Has("--json"))
      std::printf("%s\n", nlohmann::json{{"source", s.name}, {"legal_basis", s.legal_basis}, {"purposes", s.purposes}}
                              .dump()
                              .c_str());
    else
      std::printf("source \"%s\" added (legal basis: %s; purposes: %s)\n", s.name.c_str(), s.legal_basis.c_str(),
                  JoinPurposes(s.purposes).c_str());
    return kExitOk;
  }
  if (verb == "purposes") {
    if (args->positional.size() != 2)
      return Misuse(**command, "source purposes takes NAME and LIST (e.g. search,network), got " +
                                   std::to_string(args->positional.size()) + " argument(s)");
    auto purposes = ParsePurposes(args->positional[1]);
    if (!purposes.ok()) return Fail(purposes.status());
    auto before = (*cat)->FindSource(args->positional[0]);
    if (!before.ok()) return Fail(before.status());
    auto audit = OpenCliAudit(GalleryDir(*args));
    if (!audit.ok()) return Fail(audit.status());
    Status st = (*cat)->SetSourcePurposes(before->name, *purposes);
    if (!st.ok()) return Fail(st);
    if (int rc = RecordCliAudit(**audit, "source_purposes",
                                {{"source", before->name}, {"before", before->purposes}, {"after", *purposes}});
        rc)
      return rc;
    if (args->Has("--json"))
      std::printf("%s\n", nlohmann::json{{"source", before->name}, {"purposes", *purposes}}.dump().c_str());
    else
      std::printf("source \"%s\": purposes %s (were %s)\n", before->name.c_str(), JoinPurposes(*purposes).c_str(),
                  JoinPurposes(before->purposes).c_str());
    return kExitOk;
  }
  if (verb == "list") {
    auto list = (*cat)->Sources();
    if (!list.ok()) return Fail(list.status());
    nlohmann::json j = nlohmann::json::array();
    Table t({"source", "legal basis", "purposes", "collected by", "collected at", "retention until", "created"});
    for (const auto& s : *list) {
      j.push_back({{"name", s.name}, {"description", s.description}, {"legal_basis", s.legal_basis},
                   {"purposes", s.purposes}, {"collected_by", s.collected_by}, {"collected_at", s.collected_at},
                   {"retention_until", s.retention_until}, {"created_at", s.created_at}});
      t.Add({s.name, s.legal_basis, JoinPurposes(s.purposes), s.collected_by, s.collected_at, s.retention_until,
             s.created_at});
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
        {"enroll PATH... --source NAME [--subject NAME | --subject-from-dir] [--all-faces] [--allow-erased]",
         "enroll PATH... --source NAME [--gallery DIR] [--threads N] [--json]"},
    .options = {{"--source", "NAME", "the registered source the photos come from (lineup source add)"},
                {"--subject", "NAME", "the person every face belongs to (default none: unlabelled faces)"},
                {"--subject-from-dir", "", "each photo's folder names its person"},
                {"--all-faces", "",
                 "also keep the detections that fail the admission rules, flagged: stored, never shown as leads"},
                {"--allow-erased", "",
                 "enrol photos whose faces were erased before (refused otherwise, with the erasure's date and reason)"},
                kGalleryOption,
                {"--json", "", "JSON lines on stdout: progress every few seconds, the summary last"}},
    .examples = {"lineup enroll samples --source samples --gallery lineup-data"},
    .notes =
        "Photos already in the gallery (same SHA-256) are skipped, so an interrupted enrolment\n"
        "can be run again; problems also go to enroll-problems.log in the gallery. A face enters the\n"
        "gallery only if it is at least 32 px tall, the detector is sure of it (0.9), its quality is\n"
        "at least 0.1 and the recognition network takes it for a face (certainty 0.65): patterns,\n"
        "hands and unrecognisably small or blurred faces are left out and listed with the reason\n"
        "(docs/accuracy.md, \"Junk faces\").",
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
  eo.all_faces = args->Has("--all-faces");
  eo.allow_erased = args->Has("--allow-erased");
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
  // The new faces join their persons (or wait as pending): persons stay up to date.
  PersonInvestigations persons(g->get(), nullptr, nullptr);
  auto placed = persons.PlaceNewFaces();
  if (!placed.ok())
    std::fprintf(stderr, "lineup: enrolled, but persons were not updated (%s); `lineup persons recluster` rebuilds them\n",
                 placed.status().message().c_str());
  if (int rc = RecordCliAudit(**audit, "enroll", {{"source", eo.source},
                                                  {"subject", eo.subject_from_dir ? "(from directories)" : eo.subject},
                                                  {"files", r->files}, {"enrolled_images", r->enrolled}, {"faces", r->faces},
                                                  {"duplicates_skipped", r->duplicates},
                                                  {"faces_left_out", r->left_out.size() - r->flagged},
                                                  {"faces_flagged", r->flagged},
                                                  {"erased_before", r->erased_before},
                                                  {"problems", r->problems.size()}, {"gallery_size", (*g)->size()},
                                                  {"persons_pending", placed.ok() ? placed->pending : -1}});
      rc)
    return rc;
  // Problems and faces left out also go to a log file in the gallery, so they outlive the terminal.
  const std::string kept = eo.all_faces ? "kept flagged (never a lead): " : "left out: ";
  if (!r->problems.empty() || !r->left_out.empty()) {
    std::ofstream log(std::filesystem::path(GalleryDir(*args)) / "enroll-problems.log", std::ios::app);
    std::time_t t = std::time(nullptr);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    for (const auto& [path, why] : r->problems) log << when << "\t" << path << "\t" << why << "\n";
    for (const LeftOutFace& l : r->left_out)
      log << when << "\t" << l.path << "\tface " << l.face << " at " << BoxText(l.box) << " " << kept << l.reason << "\n";
  }
  if (args->Has("--json")) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& [path, why] : r->problems) problems.push_back({{"path", path}, {"reason", why}});
    nlohmann::json left = nlohmann::json::array();
    for (const LeftOutFace& l : r->left_out)
      left.push_back({{"path", l.path}, {"face", l.face}, {"box", BoxJson(l.box)}, {"reason", l.reason},
                      {"kept_flagged", eo.all_faces}});
    std::printf("%s\n", nlohmann::json{{"files", r->files}, {"enrolled_images", r->enrolled}, {"faces", r->faces},
                                       {"faces_flagged", r->flagged}, {"duplicates_skipped", r->duplicates},
                                       {"erased_before", r->erased_before}, {"problems", problems},
                                       {"faces_left_out", left}, {"gallery_size", (*g)->size()}}.dump().c_str());
  } else {
    for (const auto& [path, why] : r->problems) std::fprintf(stderr, "lineup: %s\n", why.c_str());
    if (!r->left_out.empty()) {
      // Reasons grouped, then the first few faces: a crowd or a patterned shirt can give hundreds.
      std::map<std::string, int> by_rule;
      for (const LeftOutFace& l : r->left_out) {
        std::stringstream ss(l.reason);
        for (std::string part; std::getline(ss, part, ';');) {
          part.erase(0, part.find_first_not_of(' '));
          ++by_rule[part.substr(0, part.find(" ("))];
        }
      }
      std::printf("%zu detection(s) %s", r->left_out.size(),
                  eo.all_faces ? "kept flagged, never shown as leads (--all-faces):" : "left out of the gallery:");
      for (const auto& [rule, n] : by_rule) std::printf(" %s %d;", rule.c_str(), n);
      std::printf("\n");
      Table t({"photo", "face", "box", "why"});
      size_t shown = 0;
      for (const LeftOutFace& l : r->left_out) {
        if (++shown > 10) break;
        t.Add({l.path, std::to_string(l.face), BoxText(l.box), l.reason});
      }
      t.Print();
      if (r->left_out.size() > 10)
        std::printf("... and %zu more in %s/enroll-problems.log\n", r->left_out.size() - 10, GalleryDir(*args).c_str());
    }
    std::printf("%lld file(s): %lld image(s) enrolled with %lld face(s)%s, %lld already in the gallery, %lld erased "
                "before, %zu problem(s); gallery now holds %lld face(s)\n",
                static_cast<long long>(r->files), static_cast<long long>(r->enrolled), static_cast<long long>(r->faces),
                r->flagged ? (" (" + std::to_string(r->flagged) + " flagged)").c_str() : "",
                static_cast<long long>(r->duplicates), static_cast<long long>(r->erased_before), r->problems.size(),
                static_cast<long long>((*g)->size()));
    if (!r->problems.empty())
      std::printf("problems listed above and in %s/enroll-problems.log\n", GalleryDir(*args).c_str());
  }
  return kExitOk;
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
  // Only read, so that it works beside `lineup serve` or an enrolment holding the gallery.
  auto g = Gallery::OpenReadOnly(dir, *opts);
  const bool empty = !g.ok() && g.status().code() == Status::Code::kFailedPrecondition;  // never filled
  if (!g.ok() && !empty) return Fail(g.status());
  auto cat = Catalog::Open((std::filesystem::path(dir) / "catalog.sqlite").string(), false);
  if (!cat.ok()) return Fail(cat.status());
  auto counts = (*cat)->Counts();
  auto by = (*cat)->CountsBySource();
  if (!counts.ok()) return Fail(counts.status());
  if (!by.ok()) return Fail(by.status());
  int64_t disk = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) disk += static_cast<int64_t>(e.file_size(ec));
  nlohmann::json sources = nlohmann::json::array();
  Table t({"source", "images", "faces", "purposes"});
  for (const auto& sc : *by) {
    auto src = (*cat)->FindSource(sc.name);
    const std::vector<std::string> purposes = src.ok() ? src->purposes : std::vector<std::string>{};
    sources.push_back({{"name", sc.name}, {"images", sc.images}, {"faces", sc.faces}, {"purposes", purposes}});
    t.Add({sc.name, std::to_string(sc.images), std::to_string(sc.faces), JoinPurposes(purposes)});
  }
  const int64_t index_bytes = empty ? 0 : (*g)->IndexMemoryBytes();
  const std::string index = empty ? "none (no face enrolled yet)" : (*g)->IndexSpec();
  const std::string model = empty ? "none yet" : (*g)->model().Id();
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
                                       {"index", index},
                                       {"index_memory_bytes", index_bytes}, {"process_rss_bytes", rss},
                                       {"model", model},
                                       {"schema_version", Catalog::kSchemaVersion}}.dump(2).c_str());
  } else {
    std::printf("gallery %s: %lld faces in %lld images, %lld subjects, %lld sources\n", dir.c_str(),
                static_cast<long long>(counts->faces), static_cast<long long>(counts->images),
                static_cast<long long>(counts->subjects), static_cast<long long>(counts->sources));
    std::printf("disk %.1f MB, index %s in memory %.1f MB, process memory %.1f MB, model %s\n\n", disk / 1e6,
                index.c_str(), index_bytes / 1e6, rss / 1e6, model.c_str());
    t.Print();
  }
  return kExitOk;
}

const Command kEraseCommand = {
    .name = "erase",
    .summary = "remove faces now (no longer searchable); `compact` removes their bytes",
    .usage = {"erase --subject NAME | --source NAME | --image SHA256 --reason TEXT [--yes] [--gallery DIR] [--json]"},
    .options = {{"--subject", "NAME", "every face of this person"},
                {"--source", "NAME", "every face of this source"},
                {"--image", "SHA256", "every face of the photo with this SHA-256"},
                {"--reason", "TEXT", "why (required): kept in the erasure record and the audit log"},
                {"--yes", "", "do not ask for confirmation (scripts); otherwise asked on a terminal"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup erase --source samples --reason \"demo over\" --yes --gallery lineup-data"},
    .notes =
        "Shows what it will erase and asks before doing it; without a terminal to ask on, --yes is\n"
        "needed. Enrolling an erased photo again is refused unless `lineup enroll --allow-erased`.",
};

int CmdErase(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEraseCommand);
  if (!args.ok()) return Fail(args.status());
  int given = args->Has("--subject") + args->Has("--source") + args->Has("--image");
  if (!args->positional.empty())
    return Misuse(kEraseCommand, "erase takes no arguments, got \"" + args->positional[0] + "\"");
  if (given == 0) return Misuse(kEraseCommand, "erase needs --subject NAME, --source NAME or --image SHA256");
  if (given > 1) return Misuse(kEraseCommand, "erase takes only one of --subject, --source and --image");
  if (args->Get("--reason").empty())
    return Misuse(kEraseCommand, "erase needs --reason TEXT: why these faces go is part of the record");
  const bool tty = ::isatty(STDIN_FILENO) && ::isatty(STDERR_FILENO);
  if (!args->Has("--yes") && !tty)
    return Misuse(kEraseCommand, "erase asks for confirmation, and there is no terminal to ask on: add --yes");
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  auto g = Gallery::Open(GalleryDir(*args), *opts);
  if (!g.ok()) return Fail(g.status());
  auto audit = OpenCliAudit(GalleryDir(*args));
  if (!audit.ok()) return Fail(audit.status());
  const char* kind = args->Has("--subject") ? "subject" : args->Has("--source") ? "source" : "image";
  const std::string key = args->Get(std::string("--") + kind);
  if (!args->Has("--yes")) {
    auto preview = (*g)->catalog().PlanErase(kind, key);
    if (!preview.ok()) return Fail(preview.status());
    std::fprintf(stderr, "erase %s: %zu face(s) and %lld image(s), for \"%s\"? This cannot be undone. [y/N] ",
                 preview->what.c_str(), preview->face_ids.size(), static_cast<long long>(preview->images),
                 args->Get("--reason").c_str());
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) {
      std::fprintf(stderr, "lineup: nothing erased\n");
      return kExitNo;
    }
  }
  auto plan = (*g)->Erase(kind, key, args->Get("--reason"));
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
