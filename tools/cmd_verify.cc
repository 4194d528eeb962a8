// lineup verify: are the faces in two photos the same person, at a chosen false-match rate?
#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/differentials.h"
#include "lineup/image.h"
#include "lineup/investigations.h"

namespace lineup::cli {

namespace {
nlohmann::json SideJson(const ProbeReport& s) {
  const Face& f = s.faces[static_cast<size_t>(s.searched)];
  nlohmann::json j = FaceJson(f);
  j["path"] = s.name;
  j["face"] = s.searched + 1;
  j["faces_in_photo"] = s.faces.size();
  j["image_sha256"] = s.sha256;
  return j;
}
}  // namespace

const Command kVerifyCommand = {
    .name = "verify",
    .summary = "similarity of two faces and the decision at the calibrated threshold",
    .usage = {"verify PHOTO_A PHOTO_B [--fmr 1e-3] [--face-a N] [--face-b N] [--json]"},
    .options = {{"--fmr", "RATE", "the false-match rate the threshold is calibrated for (default 1e-3)"},
                {"--face-a", "N", "compare face #N of PHOTO_A, as detect numbers them (default the largest usable)"},
                {"--face-b", "N", "the same for PHOTO_B"},
                kCaseOption,
                kJustificationOption,
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup verify samples/sample2.jpg samples/sample3.jpg",
                 "lineup verify samples/sample1.jpg samples/sample1.jpg --face-a 1 --face-b 2 --fmr 1e-4"},
    .notes =
        "Exit code 0 for the same person, 1 for not the same person or a photo without a face, 3 when a\n"
        "face is too poor to decide either way (quality under 0.01). Recorded in the audit log of the\n"
        "gallery (--gallery, $LINEUP_GALLERY or ./lineup-data if there is one) as cli:<user>.",
    .reads_photos = true,
};

int CmdVerify(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kVerifyCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.size() != 2)
    return Misuse(kVerifyCommand, "verify takes two photos, got " + std::to_string(args->positional.size()));
  auto fmr = args->GetDouble("--fmr", kDefaultVerifyFmr, 1e-9, 0.5);
  auto fa = args->GetInt("--face-a", 0, 1, 100000);
  auto fb = args->GetInt("--face-b", 0, 1, 100000);
  for (const Status& s : {fmr.status(), fa.status(), fb.status()})
    if (!s.ok()) return Fail(s);
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  auto record = OpenCliRecord(*args, false);
  if (!record.ok()) return Fail(record.status());
  auto analyzer = FaceAnalyzer::Create(*opts);
  if (!analyzer.ok()) return Fail(analyzer.status());
  auto cal = Calibration::ForModel((*analyzer)->Model());
  if (!cal.ok()) return Fail(cal.status());

  VerifyRequest req;
  req.case_id = record->case_id;
  req.justification = record->justification;
  req.fmr = *fmr;
  for (auto [probe, path, want] : {std::tuple{&req.a, args->positional[0], *fa}, std::tuple{&req.b, args->positional[1], *fb}}) {
    auto bytes = ReadFileBytes(path, opts->decode.max_bytes);
    if (!bytes.ok()) return Fail(bytes.status());
    probe->photo = std::move(*bytes);
    probe->name = path;
    probe->face = want;
  }
  InvestigationsOptions io;
  io.decode = opts->decode;
  Investigations inv(nullptr, record->cases.get(), record->audit.get(), *cal, io);
  auto v = inv.Verify(CliPrincipal(), req, **analyzer);
  if (!v.ok()) return Fail(v.status());
  const bool fmr_bound = v->score >= cal->points.back().second;  // rarer than was measured
  std::vector<std::string> warnings = v->warnings;
  for (const ProbeReport* s : {&v->a, &v->b}) {
    const bool chosen = (s == &v->a ? *fa : *fb) > 0;
    if (s->faces.size() > 1 && !chosen)
      warnings.push_back(s->name + ": " + std::to_string(s->faces.size()) + " faces; used #" +
                         std::to_string(s->searched + 1) + " (the largest usable); choose with --face-" +
                         (s == &v->a ? "a" : "b"));
  }
  if (!v->audit_seq) warnings.push_back("not recorded: no gallery here to keep an audit record (--gallery DIR)");

  if (args->Has("--json")) {
    nlohmann::json j = {{"similarity", v->score},
                        {"threshold", v->threshold.threshold},
                        {"fmr", *fmr},
                        {"decision", v->decision},
                        {"threshold_decision", SearchThresholdJson(v->threshold)},
                        {"same_person", v->decision == "undecided" ? nlohmann::json(nullptr)
                                                                   : nlohmann::json(v->decision == "same")},
                        {"reason", v->reason},
                        {"estimated_fmr_at_similarity", v->fmr_at_score},
                        {"estimated_fmr_is_upper_bound", fmr_bound},
                        {"model", (*analyzer)->Model().Id()},
                        {"calibration", {{"dataset", cal->dataset}, {"impostor_comparisons", cal->impostor_comparisons}}},
                        {"a", SideJson(v->a)},
                        {"b", SideJson(v->b)},
                        {"warnings", warnings},
                        {"audit_seq", v->audit_seq ? nlohmann::json(v->audit_seq) : nlohmann::json(nullptr)},
                        {"note", "a lead for human review, not an identification"}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    Table t({"photo", "face", "of", "quality", "reasons"});
    for (const ProbeReport* s : {&v->a, &v->b}) {
      const Face& f = s->faces[static_cast<size_t>(s->searched)];
      t.Add({s->name, "#" + std::to_string(s->searched + 1), std::to_string(s->faces.size()),
             Fmt("%.2f", f.quality.score), Reasons(f.quality)});
    }
    t.Print();
    std::printf("\nsimilarity %.4f, threshold %.4f at FMR %g (calibrated on %s, %lld impostor comparisons)\n", v->score,
                v->threshold.threshold, *fmr, cal->dataset.c_str(), static_cast<long long>(cal->impostor_comparisons));
    std::printf("estimated false-match rate at this similarity: %s%.2g%s\n", fmr_bound ? "below " : "",
                v->fmr_at_score, fmr_bound ? " (the lowest measured)" : "");
    if (!v->threshold.group_fmr.empty()) {
      std::string groups;
      for (const auto& [g, f] : v->threshold.group_fmr)
        groups += (groups.empty() ? "" : ", ") + g + (v->threshold.group_fmr_bounded ? " under " : " ") + Fmt("%.1e", f);
      std::printf("false-match rate at the threshold among look-alikes (pairs within one group): %s\n", groups.c_str());
    }
    if (const std::string d = DifferentialsText(v->threshold); !d.empty()) std::printf("%s\n", d.c_str());
    if (v->decision == "undecided")
      std::printf("decision: CANNOT DECIDE: %s\n", v->reason.c_str());
    else
      std::printf("decision: %s\n", v->decision == "same"
                                        ? "SAME PERSON (a lead for human review, not an identification)"
                                        : "NOT THE SAME PERSON at this false-match rate");
    for (const auto& w : warnings) std::printf("warning: %s\n", w.c_str());
  }
  return v->decision == "same" ? kExitOk : v->decision == "undecided" ? kExitUndecided : kExitNo;
}

}  // namespace lineup::cli
