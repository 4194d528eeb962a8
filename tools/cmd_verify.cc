// lineup verify: are the faces in two photos the same person, at a chosen false-match rate?
#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"

namespace lineup::cli {

namespace {
struct Side {
  std::string path;
  PhotoAnalysis photo;
  int face = -1;  // index into photo.faces
};

Status Prepare(FaceAnalyzer& a, const std::string& path, int wanted, Side* s) {
  s->path = path;
  auto c = AnalyzeAndChoose(a, path, wanted);
  if (!c.ok()) return c.status();
  s->photo = std::move(c->photo);
  s->face = c->index;
  return Status::OK();
}

nlohmann::json SideJson(const Side& s) {
  const Face& f = s.photo.faces[static_cast<size_t>(s.face)];
  nlohmann::json j = FaceJson(f);
  j["path"] = s.path;
  j["face"] = s.face + 1;
  j["faces_in_photo"] = s.photo.faces.size();
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
                kJsonOption},
    .examples = {"lineup verify samples/sample2.jpg samples/sample3.jpg",
                 "lineup verify samples/sample1.jpg samples/sample1.jpg --face-a 1 --face-b 2 --fmr 1e-4"},
    .notes = "Exit code 0 for the same person, 1 for not the same person or a photo without a face.",
    .reads_photos = true,
};

int CmdVerify(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kVerifyCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.size() != 2)
    return Misuse(kVerifyCommand, "verify takes two photos, got " + std::to_string(args->positional.size()));
  auto fmr = args->GetDouble("--fmr", 1e-3, 1e-9, 0.5);
  auto fa = args->GetInt("--face-a", 0, 1, 100000);
  auto fb = args->GetInt("--face-b", 0, 1, 100000);
  for (const Status& s : {fmr.status(), fa.status(), fb.status()})
    if (!s.ok()) return Fail(s);
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  auto analyzer = FaceAnalyzer::Create(*opts);
  if (!analyzer.ok()) return Fail(analyzer.status());
  auto cal = Calibration::ForModel((*analyzer)->Model());
  if (!cal.ok()) return Fail(cal.status());
  auto threshold = cal->ThresholdFor(*fmr);
  if (!threshold.ok()) return Fail(threshold.status());

  Side a, b;
  for (auto [side, path, want] : {std::tuple{&a, args->positional[0], *fa}, std::tuple{&b, args->positional[1], *fb}}) {
    Status s = Prepare(**analyzer, path, want, side);
    if (!s.ok()) return Fail(s);
  }
  const auto& va = a.photo.faces[static_cast<size_t>(a.face)].embedding;
  const auto& vb = b.photo.faces[static_cast<size_t>(b.face)].embedding;
  float sim = 0;
  for (size_t i = 0; i < va.size(); ++i) sim += va[i] * vb[i];
  const bool same = sim >= *threshold;
  const double est_fmr = cal->FmrAt(sim);
  const bool fmr_bound = sim >= cal->points.back().second;  // rarer than was measured
  std::vector<std::string> warnings;
  for (const Side* s : {&a, &b}) {
    const Face& f = s->photo.faces[static_cast<size_t>(s->face)];
    if (!f.quality.reasons.empty()) warnings.push_back(s->path + ": low-quality face (" + Reasons(f.quality) + ")");
    const bool chosen = (s == &a ? *fa : *fb) > 0;
    if (s->photo.faces.size() > 1 && !chosen)
      warnings.push_back(s->path + ": " + std::to_string(s->photo.faces.size()) + " faces; used #" +
                         std::to_string(s->face + 1) + " (the largest usable); choose with --face-" + (s == &a ? "a" : "b"));
  }

  if (args->Has("--json")) {
    nlohmann::json j = {{"similarity", sim},      {"threshold", *threshold},    {"fmr", *fmr},
                        {"same_person", same},    {"estimated_fmr_at_similarity", est_fmr},
                        {"estimated_fmr_is_upper_bound", fmr_bound},
                        {"model", (*analyzer)->Model().Id()},
                        {"calibration", {{"dataset", cal->dataset}, {"impostor_comparisons", cal->impostor_comparisons}}},
                        {"a", SideJson(a)},       {"b", SideJson(b)},           {"warnings", warnings},
                        {"note", "a lead for human review, not an identification"}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    Table t({"photo", "face", "of", "quality", "reasons"});
    for (const Side* s : {&a, &b}) {
      const Face& f = s->photo.faces[static_cast<size_t>(s->face)];
      t.Add({s->path, "#" + std::to_string(s->face + 1), std::to_string(s->photo.faces.size()),
             Fmt("%.2f", f.quality.score), Reasons(f.quality)});
    }
    t.Print();
    std::printf("\nsimilarity %.4f, threshold %.4f at FMR %g (calibrated on %s, %lld impostor comparisons)\n", sim,
                *threshold, *fmr, cal->dataset.c_str(), static_cast<long long>(cal->impostor_comparisons));
    std::printf("estimated false-match rate at this similarity: %s%.2g%s\n", fmr_bound ? "below " : "", est_fmr,
                fmr_bound ? " (the lowest measured)" : "");
    std::printf("decision: %s\n", same ? "SAME PERSON (a lead for human review, not an identification)"
                                      : "NOT THE SAME PERSON at this false-match rate");
    for (const auto& w : warnings) std::printf("warning: %s\n", w.c_str());
  }
  return same ? kExitOk : kExitNo;
}

}  // namespace lineup::cli
