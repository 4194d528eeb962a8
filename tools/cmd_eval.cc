// lineup eval pairs: verification accuracy by the LFW protocol (docs/accuracy.md).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <opencv2/imgcodecs.hpp>

#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/embedder.h"
#include "lineup/evaluation.h"
#include "lineup/models.h"
#include "lineup/plot.h"

namespace lineup::cli {

namespace {
float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

const Command kEvalPairsCommand = {
    .name = "eval pairs",
    .summary = "verification accuracy by the LFW protocol (10-fold accuracy, TAR at FAR, AUC, EER)",
    .usage = {"eval pairs (--lfw-pairs FILE --root DIR | --tsv FILE) [--report OUT_DIR] [--json]",
              "eval pairs ... [--limit N] [--threads N] [--face largest|central]"},
    .options = {{"--lfw-pairs", "FILE", "LFW's pairs.txt (with --root)"},
                {"--root", "DIR", "the folder of LFW's images (one folder per person)"},
                {"--tsv", "FILE", "instead: path_a<TAB>path_b<TAB>same lines (same: 1 or 0)"},
                {"--report", "OUT_DIR", "also write report.json, scores.tsv and the ROC curve roc.png there"},
                {"--limit", "N", "a sample of N pairs keeping every fold's balance (default all)"},
                {"--face", "largest|central", "the face taken from each photo (default central)"},
                {"--scale", "S",
                 "shrink (or enlarge) every photo by S before analysis, to measure small faces (default 1; "
                 "LFW's face box is about 132 px tall at 1)"},
                kJsonOption},
    .examples =
        {"lineup eval pairs --lfw-pairs ../shared/data/lfw/pairs.txt --root ../shared/data/lfw/images --limit 60"},
    .reads_photos = true,
};
}  // namespace

const Command kEvalCommand = {
    .name = "eval",
    .summary = "accuracy on labelled photos: verification pairs, open-set 1:N identification, demographic "
               "differentials, false leads, the admission rules, the grouping of faces into persons and the co-appearance network",
    .notes = "docs/accuracy.md gives the measured results and the commands that produced them.",
    .verbs = {&kEvalPairsCommand, &kEvalIdentCommand, &kEvalGroupsCommand, &kEvalLeadsCommand, &kEvalAdmissionCommand,
              &kEvalClusterCommand, &kEvalNetworkCommand},
};

int CmdEval(int argc, char** argv) {
  auto verb = VerbFrom(kEvalCommand, argc, argv);
  if (!verb.ok()) return Fail(verb.status());
  if (*verb == &kEvalIdentCommand) return CmdEvalIdent(argc, argv);
  if (*verb == &kEvalGroupsCommand) return CmdEvalGroups(argc, argv);
  if (*verb == &kEvalLeadsCommand) return CmdEvalLeads(argc, argv);
  if (*verb == &kEvalAdmissionCommand) return CmdEvalAdmission(argc, argv);
  if (*verb == &kEvalClusterCommand) return CmdEvalCluster(argc, argv);
  if (*verb == &kEvalNetworkCommand) return CmdEvalNetwork(argc, argv);
  auto args = ParseArgs(argc, argv, kEvalPairsCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kEvalPairsCommand, "eval pairs takes no arguments, got \"" + args->positional[0] + "\"");
  auto opts = AnalyzerOptionsFrom(*args);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  auto limit = args->GetInt("--limit", 0, 1, 100000000);
  if (!opts.ok()) return Fail(opts.status());
  if (!threads.ok()) return Fail(threads.status());
  if (!limit.ok()) return Fail(limit.status());
  auto scale = args->GetDouble("--scale", 1, 0.01, 8);
  if (!scale.ok()) return Fail(scale.status());
  opts->photo_scale = *scale;
  if (*scale < 1) opts->detector_options.min_face = std::min(opts->detector_options.min_face, 8.0f);
  const std::string face = args->Get("--face", "central");
  if (face != "central" && face != "largest") return Fail(Status::InvalidArgument("--face must be largest or central"));

  Result<std::vector<LabelledPair>> pairs = Status::InvalidArgument("give --lfw-pairs FILE --root DIR, or --tsv FILE");
  if (args->Has("--lfw-pairs") && args->Has("--root") && !args->Has("--tsv"))
    pairs = ReadLfwPairs(args->Get("--lfw-pairs"), args->Get("--root"));
  else if (args->Has("--tsv") && !args->Has("--lfw-pairs"))
    pairs = ReadPairsTsv(args->Get("--tsv"));
  if (!pairs.ok()) return Fail(pairs.status());
  if (*limit > 0 && static_cast<size_t>(*limit) < pairs->size()) {
    // A sample that keeps the genuine/impostor balance of every fold.
    std::vector<LabelledPair> sample;
    size_t step = pairs->size() / static_cast<size_t>(*limit);
    for (size_t i = 0; i < pairs->size() && sample.size() < static_cast<size_t>(*limit); i += step) sample.push_back((*pairs)[i]);
    *pairs = std::move(sample);
  }

  std::map<std::string, size_t> index;
  std::vector<std::string> photos;
  for (const auto& p : *pairs)
    for (const auto* path : {&p.a, &p.b})
      if (index.emplace(*path, photos.size()).second) photos.push_back(*path);
  auto emb = EmbedPhotos(*opts, photos, *threads, face == "central" ? FacePick::kCentral : FacePick::kLargest);
  if (!emb.ok()) return Fail(emb.status());

  std::vector<float> scores;
  for (const auto& p : *pairs) {
    const auto& va = emb->vectors[index[p.a]];
    const auto& vb = emb->vectors[index[p.b]];
    scores.push_back(va.empty() || vb.empty() ? NAN : Dot(va, vb));
  }
  VerificationReport r = EvaluateVerification(*pairs, scores);
  r.failures_to_enrol = emb->failures;
  // The calibrated thresholds the product decides with, and what they give on these pairs.
  nlohmann::json calibrated = nlohmann::json::object();
  {
    auto e = Embedder::Create(opts->embedder.empty() ? Embedder::DefaultSpec() : opts->embedder,
                              opts->model_dir.empty() ? DefaultModelDir() : opts->model_dir);
    auto cal = e.ok() ? Calibration::ForModel((*e)->Model()) : Result<Calibration>(e.status());
    if (cal.ok())
      for (double fmr : {1e-3, 1e-4}) {
        auto t = cal->ThresholdFor(fmr);
        if (!t.ok()) continue;
        int64_t g = 0, ga = 0, im = 0, ia = 0;
        for (size_t i = 0; i < pairs->size(); ++i) {
          const bool above = std::isfinite(scores[i]) && scores[i] >= *t;
          if ((*pairs)[i].same) ++g, ga += above;
          else ++im, ia += above;
        }
        calibrated[Fmt("%g", fmr)] = {{"threshold", *t}, {"tar", g ? double(ga) / g : 0.0},
                                      {"impostors_above", ia}, {"fmr_measured", im ? double(ia) / im : 0.0}};
      }
  }

  nlohmann::json j = {{"pairs", r.pairs},
                      {"genuine", r.genuine},
                      {"impostor", r.impostor},
                      {"accuracy_mean", r.accuracy_mean},
                      {"accuracy_std", r.accuracy_std},
                      {"fold_accuracy", r.fold_accuracy},
                      {"fold_threshold", r.fold_threshold},
                      {"tar_at_far", r.tar_at_far},
                      {"threshold_at_far", r.threshold_at_far},
                      {"auc", r.auc},
                      {"eer", r.eer},
                      {"failures_to_enrol", r.failures_to_enrol},
                      {"pairs_without_face", r.pairs_without_face},
                      {"photos", photos.size()},
                      {"model", emb->model_id},
                      {"detector", opts->detector},
                      {"face_choice", face},
                      {"scale", *scale},
                      {"at_calibrated_threshold", calibrated}};
  {
    const StageTimes& t = emb->times;
    double n = std::max<double>(1, static_cast<double>(t.photos));
    j["cpu_ms_per_photo"] = {{"decode", t.decode / n}, {"detect", t.detect / n}, {"landmarks", t.landmarks / n},
                             {"align", t.align / n},   {"quality", t.quality / n}, {"embed", t.embed / n}};
  }
  const std::string report = args->Get("--report");
  if (!report.empty()) {
    std::filesystem::create_directories(report);
    Series roc{"TAR vs FAR (" + emb->model_id + ")", {}, {200, 80, 20}};
    for (const auto& p : r.roc) roc.points.push_back({std::max(p.far, 1e-4), p.tar});
    PlotOptions po;
    po.title = "ROC: " + std::to_string(r.pairs) + " pairs, accuracy " + Fmt("%.2f%%", 100 * r.accuracy_mean);
    po.x_label = "false accept rate";
    po.y_label = "true accept rate";
    po.log_x = true;
    po.x_min = 1e-4;
    po.y_min = std::max(0.0, std::floor(((r.roc.size() > 1 ? r.tar_at_far["0.001"] : 0) - 0.05) * 20) / 20);
    std::string png = report + "/roc.png";
    if (!cv::imwrite(png, PlotCurves({roc}, po))) return Fail(Status::IOError(png + ": cannot write"));
    std::ofstream(report + "/report.json") << j.dump(2) << "\n";
    std::ofstream tsv(report + "/scores.tsv");
    tsv << "path_a\tpath_b\tsame\tfold\tscore\n";
    for (size_t i = 0; i < pairs->size(); ++i)
      tsv << (*pairs)[i].a << "\t" << (*pairs)[i].b << "\t" << (*pairs)[i].same << "\t" << (*pairs)[i].fold << "\t"
          << scores[i] << "\n";
    j["report"] = report;
  }
  if (args->Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    Table t({"measure", "value"});
    t.Add({"pairs (genuine / impostor)", std::to_string(r.pairs) + " (" + std::to_string(r.genuine) + " / " + std::to_string(r.impostor) + ")"});
    t.Add({"10-fold accuracy", Fmt("%.2f%%", 100 * r.accuracy_mean) + " ± " + Fmt("%.2f", 100 * r.accuracy_std)});
    t.Add({"TAR at FAR 1e-2", Fmt("%.2f%%", 100 * r.tar_at_far["0.01"])});
    t.Add({"TAR at FAR 1e-3", Fmt("%.2f%%", 100 * r.tar_at_far["0.001"])});
    t.Add({"AUC", Fmt("%.5f", r.auc)});
    t.Add({"EER", Fmt("%.2f%%", 100 * r.eer)});
    t.Add({"failures to enrol (photos)", std::to_string(r.failures_to_enrol) + " of " + std::to_string(photos.size())});
    t.Add({"pairs scored as non-match for that", std::to_string(r.pairs_without_face)});
    for (const auto& [fmr, c] : calibrated.items())
      t.Add({"at the calibrated FMR " + fmr + " threshold " + Fmt("%.4f", c["threshold"].get<double>()),
             "TAR " + Fmt("%.2f%%", 100 * c["tar"].get<double>()) + ", " + std::to_string(c["impostors_above"].get<int64_t>()) +
                 " impostor pairs above (FMR " + Fmt("%.2g", c["fmr_measured"].get<double>()) + ")"});
    t.Add({"model", emb->model_id});
    t.Print();
    if (!report.empty()) std::printf("report: %s/report.json, ROC curve: %s/roc.png\n", report.c_str(), report.c_str());
  }
  return kExitOk;
}

}  // namespace lineup::cli
