// lineup eval leads | eval admission: how often searches mislead, and what each
// admission rule costs and buys (docs/accuracy.md, "Junk faces" and "False leads").
#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "commands.h"
#include "lineup/admission_evaluation.h"
#include "lineup/lead_evaluation.h"

namespace lineup::cli {

namespace {
const std::vector<Option> kRuleOptions = {
    {"--min-height", "PX", "admission: smallest face box height (default 32)"},
    {"--min-confidence", "C", "admission: smallest detector confidence (default 0.9)"},
    {"--min-quality", "Q", "admission: smallest quality score (default 0.1)"},
    {"--min-certainty", "C", "admission: smallest network certainty (default 0.65)"},
    {"--decision-quality", "Q", "no decision for a probe under this quality (default 0.01)"},
};

std::vector<Option> With(std::vector<Option> a, const std::vector<Option>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Result<AdmissionRules> RulesFrom(const Args& a) {
  AdmissionRules r;
  for (auto [opt, field] : {std::pair{"--min-height", &r.min_height_px}, {"--min-confidence", &r.min_confidence},
                            {"--min-quality", &r.min_quality}, {"--min-certainty", &r.min_certainty},
                            {"--decision-quality", &r.min_decision_quality}}) {
    auto v = a.GetDouble(opt, *field, 0, 10000);
    if (!v.ok()) return v.status();
    *field = static_cast<float>(*v);
  }
  return r;
}

std::string Pct(int64_t part, int64_t whole) { return whole ? Fmt("%.1f%%", 100.0 * part / whole) : "-"; }
}  // namespace

const Command kEvalLeadsCommand = {
    .name = "eval leads",
    .summary = "how often searches mislead: a gallery of a few people by folder, searched with their other "
               "photos and with people who are not in it, at the default decision",
    .usage = {"eval leads --gallery-photos DIR --mated DIR --nonmated DIR [--manifest TSV] [--work DIR]",
              "eval leads ... [--fpir 0.01 | --fmr RATE] [--all-faces] [--report OUT_DIR] [--json]"},
    .options = With({{"--gallery-photos", "DIR", "photos of the enrolled people, one folder per person"},
                     {"--mated", "DIR", "probes of those people, one folder per person (the same names)"},
                     {"--nonmated", "DIR", "probes of people who are not enrolled"},
                     {"--manifest", "TSV", "the real faces' boxes (bench/make_hard_set's manifest.tsv), to count junk"},
                     {"--work", "DIR", "where the gallery is built (must not exist; default a temporary folder)"},
                     {"--fpir", "RATE", "the decision's target FPIR (default 0.01)"},
                     {"--fmr", "RATE", "a per-comparison FMR instead"},
                     {"--all-faces", "", "enrol the faces that fail admission too, flagged"},
                     {"--report", "OUT_DIR", "also write searches.tsv (one line per search) and report.json"},
                     kJsonOption},
                    kRuleOptions),
    .examples = {"lineup eval leads --gallery-photos out/hard/gallery --mated out/hard/probes/mated "
                 "--nonmated out/hard/probes/nonmated --manifest out/hard/manifest.tsv"},
    .notes = "The material: build/release/bench/lineup_make_hard_set (docs/accuracy.md, \"False leads\").",
    .reads_photos = true,
};

const Command kEvalAdmissionCommand = {
    .name = "eval admission",
    .summary = "what each admission rule costs (real faces kept out) and buys (junk detections stopped)",
    .usage = {"eval admission (--manifest TSV | --boxes CSV --root DIR | --lfw DIR [--every N]) [--json]"},
    .options = With({{"--manifest", "TSV", "photos with their real faces' boxes (bench/make_hard_set's manifest.tsv)"},
                     {"--boxes", "CSV", "a box list as dlib's labelled set has it (../shared/data/detection/boxes.csv)"},
                     {"--root", "DIR", "the folder of the box list's images"},
                     {"--lfw", "DIR", "LFW (images/ and identities.tsv): the central face of each photo is real"},
                     {"--every", "N", "with --lfw, every Nth photo (default 1: all 13,233)"},
                     kJsonOption},
                    kRuleOptions),
    .examples = {"lineup eval admission --boxes ../shared/data/detection/boxes.csv --root ../shared/data/detection"},
    .notes = "Detections overlapping no known face count as junk only where every real face is known.",
    .reads_photos = true,
};

int CmdEvalLeads(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEvalLeadsCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty()) return Misuse(kEvalLeadsCommand, "eval leads takes no arguments");
  for (const char* need : {"--gallery-photos", "--mated", "--nonmated"})
    if (!args->Has(need)) return Misuse(kEvalLeadsCommand, std::string("eval leads needs ") + need + " DIR");
  if (args->Has("--fpir") && args->Has("--fmr")) return Misuse(kEvalLeadsCommand, "give --fpir or --fmr, not both");
  auto opts = AnalyzerOptionsFrom(*args);
  auto rules = RulesFrom(*args);
  auto fpir = args->GetDouble("--fpir", 0.01, 1e-9, 0.5);
  auto fmr = args->GetDouble("--fmr", 0, 1e-9, 0.5);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  for (const Status& s : {opts.status(), rules.status(), fpir.status(), fmr.status(), threads.status()})
    if (!s.ok()) return Fail(s);
  LeadEvaluationOptions o;
  o.gallery_dir = args->Get("--gallery-photos");
  o.mated_dir = args->Get("--mated");
  o.nonmated_dir = args->Get("--nonmated");
  o.manifest = args->Get("--manifest");
  o.analyzer = *opts;
  o.admission = *rules;
  o.all_faces = args->Has("--all-faces");
  o.fpir = *fpir;
  o.fmr = args->Has("--fmr") ? *fmr : 0;
  o.workers = *threads;
  std::string scratch;
  if (args->Has("--work")) {
    o.work_dir = args->Get("--work");
  } else {
    char tmpl[] = "/tmp/lineup-eval-leads-XXXXXX";
    if (!::mkdtemp(tmpl)) return Fail(Status::IOError("cannot make a temporary folder"));
    scratch = tmpl;
    o.work_dir = scratch + "/gallery";
  }
  std::string stage;
  std::unique_ptr<Progress> bar;
  o.progress = [&](const std::string& s, int64_t done, int64_t total) {
    if (s != stage) {
      if (bar) bar->Finish();
      bar = std::make_unique<Progress>(s == "enrolling" ? "photos enrolled" : "searches", static_cast<size_t>(total));
      stage = s;
    }
    bar->Tick(static_cast<size_t>(done));
  };
  auto r = EvaluateLeads(o);
  if (bar) bar->Finish();
  if (!scratch.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  if (!r.ok()) return Fail(r.status());
  nlohmann::json j = {
      {"gallery",
       {{"photos", r->gallery_photos},
        {"images_enrolled", r->images_enrolled},
        {"faces_enrolled", r->faces_enrolled},
        {"faces_flagged", r->faces_flagged},
        {"faces_left_out", r->faces_left_out},
        {"left_out_by_rule", r->left_out_by_rule},
        {"real_faces_enrolled", r->real_enrolled},
        {"junk_enrolled", r->junk_enrolled},
        {"real_faces_left_out", r->real_left_out},
        {"junk_left_out", r->junk_left_out}}},
      {"decision", {{"target_fpir", o.fmr > 0 ? 0.0 : o.fpir}, {"fmr", o.fmr}, {"threshold", r->threshold},
                    {"gallery_size", r->gallery_size}, {"stated_fpir", r->stated_fpir}}},
      {"nonmated", {{"searches", r->nonmated}, {"no_face", r->nonmated_no_face}, {"with_lead", r->nonmated_with_lead},
                    {"share_with_lead", r->nonmated ? double(r->nonmated_with_lead) / double(r->nonmated) : 0}}},
      {"mated", {{"searches", r->mated}, {"no_face", r->mated_no_face}, {"right_first", r->mated_right_first},
                 {"wrong_first", r->mated_wrong_first}, {"rank1_right", r->mated_rank1_right},
                 {"share_right_first", r->mated ? double(r->mated_right_first) / double(r->mated) : 0}}},
      {"leads", {{"total", r->leads}, {"low_quality", r->leads_low_quality}, {"on_junk", r->leads_junk}}},
      {"undecided", r->undecided}};
  if (args->Has("--report")) {
    const std::filesystem::path dir = args->Get("--report");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::ofstream tsv(dir / "searches.tsv");
    tsv << "probe\tperson\tno_face\tundecided\tprobe_quality\tprobe_certainty\tleads\tfirst_lead\tfirst_score\trank1\t"
           "rank1_score\tstated_fpir\n";
    for (const LeadSearch& s : r->searches)
      tsv << s.probe << '\t' << s.person << '\t' << s.no_face << '\t' << s.undecided << '\t' << s.probe_quality << '\t'
          << s.probe_certainty << '\t' << s.leads << '\t' << s.first_lead << '\t' << s.first_score << '\t' << s.rank1
          << '\t' << s.rank1_score << '\t' << s.stated_fpir << '\n';
    std::ofstream(dir / "report.json") << j.dump(2) << "\n";
    if (!tsv) return Fail(Status::IOError((dir / "searches.tsv").string() + ": cannot write"));
  }
  if (args->Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("gallery: %lld photos, %lld faces enrolled, %lld left out%s",
              static_cast<long long>(r->gallery_photos), static_cast<long long>(r->faces_enrolled),
              static_cast<long long>(r->faces_left_out),
              r->faces_flagged ? (", " + std::to_string(r->faces_flagged) + " flagged").c_str() : "");
  if (r->junk_enrolled >= 0)
    std::printf(" (enrolled: %lld real, %lld junk; left out: %lld real, %lld junk)", static_cast<long long>(r->real_enrolled),
                static_cast<long long>(r->junk_enrolled), static_cast<long long>(r->real_left_out),
                static_cast<long long>(r->junk_left_out));
  std::printf("\ndecision: threshold %.4f for %lld faces, stated FPIR %s\n", r->threshold,
              static_cast<long long>(r->gallery_size), Pct(static_cast<int64_t>(r->stated_fpir * 1e6), 1000000).c_str());
  Table t({"searches", "count", "no face", "with a lead", "right person first", "wrong person first", "right at rank 1"});
  t.Add({"not in the gallery", std::to_string(r->nonmated), std::to_string(r->nonmated_no_face),
         Pct(r->nonmated_with_lead, r->nonmated), "", "", ""});
  t.Add({"in the gallery", std::to_string(r->mated), std::to_string(r->mated_no_face), "",
         Pct(r->mated_right_first, r->mated), Pct(r->mated_wrong_first, r->mated), Pct(r->mated_rank1_right, r->mated)});
  t.Print();
  std::printf("leads: %lld, of which on faces of quality under 0.1: %lld%s; searches without a decision: %lld\n",
              static_cast<long long>(r->leads), static_cast<long long>(r->leads_low_quality),
              r->leads_junk >= 0 ? (", on junk: " + std::to_string(r->leads_junk)).c_str() : "",
              static_cast<long long>(r->undecided));
  return kExitOk;
}

int CmdEvalAdmission(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEvalAdmissionCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty()) return Misuse(kEvalAdmissionCommand, "eval admission takes no arguments");
  const int given = args->Has("--manifest") + args->Has("--boxes") + args->Has("--lfw");
  if (given != 1) return Misuse(kEvalAdmissionCommand, "give one of --manifest TSV, --boxes CSV --root DIR, --lfw DIR");
  if (args->Has("--boxes") && !args->Has("--root")) return Misuse(kEvalAdmissionCommand, "--boxes needs --root DIR");
  auto opts = AnalyzerOptionsFrom(*args);
  auto rules = RulesFrom(*args);
  auto every = args->GetInt("--every", 1, 1, 1000000);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  for (const Status& s : {opts.status(), rules.status(), every.status(), threads.status()})
    if (!s.ok()) return Fail(s);
  Result<std::vector<LabelledFaces>> photos = Status::Internal("unset");
  if (args->Has("--manifest")) photos = ReadFaceManifest(args->Get("--manifest"));
  else if (args->Has("--boxes")) photos = ReadBoxList(args->Get("--boxes"), args->Get("--root"));
  else
    photos = LfwCentralFaces((std::filesystem::path(args->Get("--lfw")) / "identities.tsv").string(), args->Get("--lfw"),
                             *every);
  if (!photos.ok()) return Fail(photos.status());
  Progress bar("photos", photos->size());
  auto r = EvaluateAdmission(*photos, *opts, *rules, *threads,
                             [&](int64_t done, int64_t) { bar.Tick(static_cast<size_t>(done)); });
  bar.Finish();
  if (!r.ok()) return Fail(r.status());
  auto counts_json = [](const std::map<std::string, AdmissionCount>& m) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [rule, c] : m)
      j[rule] = {{"real", c.real}, {"real_left_out", c.real_left_out}, {"junk", c.junk}, {"junk_left_out", c.junk_left_out}};
    return j;
  };
  if (args->Has("--json")) {
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [kind, m] : r->by_kind) kinds[kind] = counts_json(m);
    std::printf("%s\n", nlohmann::json{{"photos", r->photos}, {"unreadable", r->unreadable},
                                       {"real_faces_not_detected", r->real_missed}, {"rules", counts_json(r->by_rule)},
                                       {"by_kind", kinds}}
                            .dump(2)
                            .c_str());
    return kExitOk;
  }
  std::printf("%lld photos (%lld unreadable); %lld known faces not detected at all\n", static_cast<long long>(r->photos),
              static_cast<long long>(r->unreadable), static_cast<long long>(r->real_missed));
  auto print = [&](const std::map<std::string, AdmissionCount>& m) {
    Table t({"rule", "real faces", "real left out", "junk detections", "junk left out"});
    for (const char* rule : {"size", "confidence", "quality", "certainty", "all"}) {
      auto it = m.find(rule);
      if (it == m.end()) continue;
      const AdmissionCount& c = it->second;
      t.Add({rule, std::to_string(c.real), std::to_string(c.real_left_out) + " (" + Pct(c.real_left_out, c.real) + ")",
             std::to_string(c.junk), std::to_string(c.junk_left_out) + " (" + Pct(c.junk_left_out, c.junk) + ")"});
    }
    t.Print();
  };
  print(r->by_rule);
  if (r->by_kind.size() > 1)
    for (const auto& [kind, m] : r->by_kind) {
      std::printf("\n%s:\n", kind.c_str());
      print(m);
    }
  return kExitOk;
}

}  // namespace lineup::cli
