// lineup eval groups: demographic differentials at the calibration's global thresholds
// (lineup/group_evaluation.h; protocol in ../shared/data/README.md).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/evaluation.h"
#include "lineup/group_evaluation.h"
#include "lineup/identification.h"
#include "lineup/plot.h"

namespace lineup::cli {

namespace {

nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
std::string Rate(double v) { return std::isfinite(v) ? Fmt("%.2e", v) : std::string("-"); }
std::string Pct(double v) { return std::isfinite(v) ? Fmt("%.2f%%", 100 * v) : std::string("-"); }
std::string Ratio(double v) { return std::isfinite(v) ? Fmt("%.2f", v) : std::string("-"); }
std::string Range(double lo, double hi, std::string (*f)(double)) {
  return std::isnan(lo) ? std::string() : " [" + f(lo) + ", " + f(hi) + "]";
}

// The FMR targets whose calibrated thresholds every group is judged at.
const std::vector<double> kFmrTargets = {1e-3, 1e-4, 1e-5};

const cv::Scalar kColours[] = {{40, 40, 200}, {200, 80, 20}, {30, 140, 30}, {160, 40, 160}, {20, 150, 200}, {90, 90, 90}};

}  // namespace

const Command kEvalGroupsCommand = {
    .name = "eval groups",
    .summary = "demographic differentials: FMR and FNMR per group at the calibrated thresholds, their ratios, "
               "and 1:N search split by the probe's group",
    .usage = {"eval groups --root DIR --groups TSV [--identities TSV] [--report OUT_DIR] [--json]",
              "eval groups ... [--vectors FILE] [--face largest|central] [--resamples N] [--seed S] [--threads N]",
              "eval groups ... [--people all|dev|test] [--self-calibrate] [--score-norm z|top:K|mean:K] [--quality-margin B] "
              "[--lfw-pairs FILE]"},
    .options = {{"--root", "DIR", "the folder the identities and groups files' paths are relative to"},
                {"--identities", "TSV", "image_relpath<TAB>identity lines (default DIR/identities.tsv)"},
                {"--groups", "TSV",
                 "image_relpath<TAB>group lines (e.g. DIR/groups_gender.tsv); photos without a line are left out"},
                {"--report", "OUT_DIR", "also write report.json and det.png (one DET curve per group) there"},
                {"--vectors", "FILE",
                 "keep the photos' vectors in FILE (docs/formats.md) and read them from it next time instead of "
                 "embedding again (the same --face choice)"},
                {"--face", "largest|central", "the face taken from each photo (default largest)"},
                {"--resamples", "N", "bootstrap resamples of people for the 95% intervals (default 1000; 0: none)"},
                {"--seed", "S", "the bootstrap's seed (default 20261203)"},
                {"--people", "all|dev|test",
                 "all people (default), or the development half (people at even positions by name) or the test half"},
                {"--self-calibrate", "",
                 "thresholds for FMR 1e-3/1e-4/1e-5 from all impostor pairs of every photo of the identities file "
                 "(whatever --people), with the score as adjusted, instead of the calibration file (implied by the "
                 "two mitigations below)"},
                {"--score-norm", "z|top:K|mean:K",
                 "mitigation: normalise each score against the two photos' similarity to a cohort, the photos of "
                 "the other half of the people (z: all of them, as the gallery's ranking does with its own faces; "
                 "top:K: the K most similar; mean:K: subtract their mean only)"},
                {"--quality-margin", "B", "mitigation: raise the threshold by B x (1 - the lower quality of the two faces)"},
                {"--lfw-pairs", "FILE",
                 "also LFW's pairs.txt 10-fold accuracy with the same score (its photos must be among the evaluated)"},
                kJsonOption},
    .examples = {"lineup eval groups --root ../shared/data/lfw --groups ../shared/data/lfw/groups_gender.tsv "
                 "--vectors out/lfw_largest.luvec --report out/groups"},
    .notes = "Thresholds are the model's calibrated ones for FMR 1e-3, 1e-4 and 1e-5 over all impostor pairs. "
             "A group's FMR is over impostor pairs whose two photos are both in it (cross-group pairs are "
             "reported apart), its FNMR over its genuine pairs; ratios are the highest group's rate over the "
             "lowest's. docs/accuracy.md (\"Demographic differentials\") has the LFW results.",
    .reads_photos = true,
};

int CmdEvalGroups(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEvalGroupsCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kEvalGroupsCommand, "eval groups takes no arguments, got \"" + args->positional[0] + "\"");
  if (!args->Has("--root")) return Misuse(kEvalGroupsCommand, "eval groups needs --root DIR");
  if (!args->Has("--groups")) return Misuse(kEvalGroupsCommand, "eval groups needs --groups TSV");
  auto opts = AnalyzerOptionsFrom(*args);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  auto resamples = args->GetInt("--resamples", 1000, 0, 100000);
  auto seed = args->GetInt("--seed", 20261203, 0, 2147483647);
  if (!opts.ok()) return Fail(opts.status());
  if (!threads.ok()) return Fail(threads.status());
  if (!resamples.ok()) return Fail(resamples.status());
  if (!seed.ok()) return Fail(seed.status());
  const std::string face = args->Get("--face", "largest");
  if (face != "central" && face != "largest") return Fail(Status::InvalidArgument("--face must be largest or central"));
  const std::string root = args->Get("--root");
  const std::string ids_file = args->Get("--identities", root + "/identities.tsv");
  const std::string groups_file = args->Get("--groups");
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return Fail(Status::NotFound(root + ": no such folder"));

  const auto t0 = std::chrono::steady_clock::now();
  auto photos = ReadIdentities(ids_file, root);
  if (!photos.ok()) return Fail(photos.status());
  auto labels = ReadPhotoLabels(groups_file, root, "group");
  if (!labels.ok()) return Fail(labels.status());
  const std::string people = args->Get("--people", "all");
  if (people != "all" && people != "dev" && people != "test")
    return Fail(Status::InvalidArgument("--people must be all, dev or test"));
  auto groups = MatchGroups(*photos, *labels);
  if (!groups.ok()) return Fail(groups.status().WithContext(groups_file));

  // The thresholds: the model's calibration, before any photo is read.
  auto model = ModelFor(*opts);
  if (!model.ok()) return Fail(model.status());
  auto cal = Calibration::ForModel(*model);
  if (!cal.ok()) return Fail(cal.status());
  GroupEvaluationOptions options;
  options.resamples = *resamples;
  options.seed = static_cast<uint64_t>(*seed);
  for (double fmr : kFmrTargets) {
    auto t = cal->ThresholdFor(fmr);
    if (!t.ok()) return Fail(t.status().WithContext("calibration"));
    options.thresholds.push_back({Fmt("%g", fmr), *t});
  }
  const std::string norm = args->Get("--score-norm");
  int cohort_k = -1;
  if (args->Has("--score-norm")) {
    if (norm == "z") {
      cohort_k = 0;
    } else if (norm.rfind("top:", 0) == 0 || norm.rfind("mean:", 0) == 0) {
      char* end = nullptr;
      const long k = std::strtol(norm.c_str() + norm.find(':') + 1, &end, 10);
      if (*end || k < 2 || k > 100000)
        return Fail(Status::InvalidArgument("--score-norm top:K and mean:K need K from 2 to 100000"));
      cohort_k = static_cast<int>(k);
    } else {
      return Fail(Status::InvalidArgument("--score-norm must be z, top:K or mean:K"));
    }
  }
  auto margin = args->GetDouble("--quality-margin", 0, -1, 1);
  if (!margin.ok()) return Fail(margin.status());
  options.quality_margin = static_cast<float>(*margin);
  const bool adjusted = cohort_k >= 0 || options.quality_margin != 0;
  if (adjusted || args->Has("--self-calibrate")) options.self_calibrated_fmr = kFmrTargets;

  // Every photo with a group is embedded (the 1:N protocol uses only these too).
  std::vector<std::string> paths;
  for (size_t i = 0; i < photos->size(); ++i) paths.push_back((*photos)[i].path);
  auto emb = EmbedPhotosCached(*opts, paths, *threads, face == "central" ? FacePick::kCentral : FacePick::kLargestBox,
                               args->Get("--vectors"));
  if (!emb.ok()) return Fail(emb.status());
  if (emb->model_id != cal->model_id)
    return Fail(Status::InvalidArgument("the vectors are of " + emb->model_id + ", the calibration of " + cal->model_id));
  const auto t1 = std::chrono::steady_clock::now();

  if (cohort_k >= 0) {
    // Each photo's cohort: the photos of the other half of the people (a reference set of
    // other people; the halves of --people).
    std::vector<int> side;
    {
      std::set<std::string> names;
      for (const auto& p : *photos) names.insert(p.identity);
      std::map<std::string, int> parity;
      int position = 0;
      for (const auto& name : names) parity[name] = position++ % 2;
      for (const auto& p : *photos) side.push_back(parity[p.identity]);
    }
    CohortStatistics cohort = MeasureCohort(emb->vectors, side, cohort_k);
    options.cohort_mean = std::move(cohort.mean);
    options.cohort_sd = std::move(cohort.sd);
    if (norm.rfind("mean:", 0) == 0) std::fill(options.cohort_sd.begin(), options.cohort_sd.end(), 1.0f);
  }
  if (options.quality_margin != 0) options.quality = emb->quality;
  std::map<std::string, int> identity_index;
  // An adjusted score needs thresholds of its own: like the calibration, from all impostor
  // pairs of every photo (not only the half evaluated), with cohorts of every photo.
  if (!options.self_calibrated_fmr.empty()) {
    std::vector<int> all_identity;
    for (const auto& p : *photos) all_identity.push_back(identity_index.emplace(p.identity, identity_index.size()).first->second);
    GroupEvaluationOptions calibrate = options;
    calibrate.resamples = 0;
    std::unique_ptr<Progress> bar;
    auto all = EvaluateGroups(emb->vectors, all_identity, groups->of_photo, groups->names, calibrate,
                              [&](size_t done, size_t total) {
                                if (!bar) bar = std::make_unique<Progress>("steps (thresholds of this score)", total);
                                bar->Tick(done);
                              });
    if (bar) bar->Finish();
    if (!all.ok()) return Fail(all.status());
    options.thresholds.clear();
    for (double fmr : kFmrTargets) options.thresholds.push_back({Fmt("%g", fmr), all->thresholds.at(Fmt("%g", fmr))});
    options.self_calibrated_fmr.clear();
  }
  if (people != "all") {
    // Halves by person: sorted by name, even positions the development half.
    std::set<std::string> names;
    for (const auto& p : *photos) names.insert(p.identity);
    std::set<std::string> chosen;
    size_t position = 0;
    for (const auto& name : names)
      if ((position++ % 2 == 0) == (people == "dev")) chosen.insert(name);
    std::vector<size_t> half;
    for (size_t i = 0; i < photos->size(); ++i)
      if (chosen.count((*photos)[i].identity)) half.push_back(i);
    auto slice = [&](auto& v) {
      std::remove_reference_t<decltype(v)> kept;
      if (v.empty()) return;
      for (size_t i : half) kept.push_back(std::move(v[i]));
      v = std::move(kept);
    };
    slice(*photos);
    slice(emb->vectors);
    slice(emb->quality);
    slice(groups->of_photo);
    slice(options.cohort_mean);
    slice(options.cohort_sd);
    slice(options.quality);
    emb->failures = 0;
    for (const auto& v : emb->vectors) emb->failures += v.empty();
  }
  identity_index.clear();
  std::vector<int> identity;
  for (const auto& p : *photos) identity.push_back(identity_index.emplace(p.identity, identity_index.size()).first->second);
  std::unique_ptr<Progress> bar;
  auto eval = EvaluateGroups(emb->vectors, identity, groups->of_photo, groups->names, options,
                             [&](size_t done, size_t total) {
                               if (!bar) bar = std::make_unique<Progress>("steps (pairs, then resamples)", total);
                               bar->Tick(done);
                             });
  if (bar) bar->Finish();
  if (!eval.ok()) return Fail(eval.status());
  const auto t2 = std::chrono::steady_clock::now();

  // The open-set 1:N protocol on the same vectors, split by the probe's group, at the
  // protocol's thresholds for FPIR 0.1 / 0.01 / 0.001 over all probes and at the product's
  // calibrated decision for FPIR 1%.
  nlohmann::json ident = nullptr;
  std::vector<GroupSearchRates> by_group;
  std::vector<std::pair<std::string, float>> search_thresholds;
  auto split = BuildIdentificationSplit(*photos);
  Result<IdentificationReport> report = Status::InvalidArgument("no split");
  if (split.ok()) report = EvaluateIdentification(emb->vectors, split->labels, *split);
  if (report.ok()) {
    for (const auto& [key, t] : report->threshold_at_fpir)
      if (std::isfinite(t)) search_thresholds.push_back({"fpir " + key, t});
    auto decided = cal->ForSearch(0.01, report->gallery_enrolled);
    if (decided.ok()) search_thresholds.push_back({"calibrated fpir 0.01", decided->threshold});
    by_group = SplitSearchesByGroup(*report, groups->of_photo, groups->names, search_thresholds);
    ident = {{"gallery_enrolled", report->gallery_enrolled},
             {"mated_searches", report->mated_searches},
             {"non_mated_searches", report->non_mated_searches},
             {"rank1", Num(report->rank1)},
             {"thresholds", nlohmann::json::object()},
             {"groups", nlohmann::json::object()}};
    for (const auto& [key, t] : search_thresholds) ident["thresholds"][key] = t;
    for (const auto& g : by_group) {
      nlohmann::json jg = nlohmann::json::object();
      for (const auto& [key, x] : g.at)
        jg[key] = {{"mated_searches", x.mated_searches}, {"mated_missed", x.mated_missed}, {"fnir", Num(x.fnir)},
                   {"non_mated_searches", x.non_mated_searches}, {"non_mated_above", x.non_mated_above},
                   {"fpir", Num(x.fpir)}};
      ident["groups"][g.name] = jg;
    }
  } else {
    std::fprintf(stderr, "lineup: no 1:N split by groups: %s\n",
                 (split.ok() ? report.status() : split.status()).message().c_str());
  }
  const auto t3 = std::chrono::steady_clock::now();

  // JSON: the keys, then intervals, cross-group pairs and 1:N.
  const GroupEvaluation& r = *eval;
  nlohmann::json j;
  j["thresholds"] = nlohmann::json::object();
  for (const auto& [key, t] : r.thresholds) j["thresholds"][key] = t;
  j["groups"] = nlohmann::json::object();
  auto rates = [](const std::map<std::string, RateWithInterval>& m, nlohmann::json* value, nlohmann::json* ci,
                  nlohmann::json* errors) {
    *value = *ci = *errors = nlohmann::json::object();
    for (const auto& [key, x] : m) {
      (*value)[key] = Num(x.rate);
      (*ci)[key] = {Num(x.low), Num(x.high)};
      (*errors)[key] = x.errors;
    }
  };
  for (const GroupRates& g : r.groups) {
    nlohmann::json jg = {{"genuine_pairs", g.genuine_pairs}, {"impostor_pairs", g.impostor_pairs},
                         {"people", g.people}, {"photos", g.photos}, {"photos_without_face", g.photos_without_face}};
    rates(g.fmr, &jg["fmr"], &jg["fmr_ci"], &jg["false_matches"]);
    rates(g.fnmr, &jg["fnmr"], &jg["fnmr_ci"], &jg["false_non_matches"]);
    j["groups"][g.name] = jg;
  }
  for (const auto& [name, side] : {std::pair{"fmr", &r.fmr_ratio}, std::pair{"fnmr", &r.fnmr_ratio}}) {
    nlohmann::json value = nlohmann::json::object(), ci = nlohmann::json::object(), which = nlohmann::json::object();
    for (const auto& [key, x] : *side) {
      value[key] = Num(x.ratio);
      ci[key] = {Num(x.low), Num(x.high)};
      which[key] = {{"highest", x.highest}, {"lowest", x.lowest}};
    }
    j[std::string(name) + "_ratio"] = value;
    j[std::string(name) + "_ratio_ci"] = ci;
    j[std::string(name) + "_ratio_groups"] = which;
  }
  {
    nlohmann::json jc = {{"impostor_pairs", r.cross.impostor_pairs}};
    rates(r.cross.fmr, &jc["fmr"], &jc["fmr_ci"], &jc["false_matches"]);
    j["cross_group"] = jc;
  }
  {
    nlohmann::json fmr = nlohmann::json::object(), tar = nlohmann::json::object();
    for (const auto& [key, x] : r.overall.fmr) fmr[key] = Num(x.rate);
    for (const auto& [key, x] : r.overall.fnmr) tar[key] = Num(1 - x.rate);
    j["overall"] = {{"genuine_pairs", r.overall.genuine_pairs}, {"impostor_pairs", r.overall.impostor_pairs},
                    {"fmr", fmr}, {"tar", tar}};
  }
  j["threshold_basis"] = adjusted || args->Has("--self-calibrate") ? "all pairs of the identities file, this score"
                                                                   : "calibration";
  j["people"] = people;
  j["score"] = {{"cohort_normalisation", cohort_k < 0 ? nlohmann::json(nullptr) : nlohmann::json(norm)},
                {"quality_margin", options.quality_margin}};
  if (args->Has("--lfw-pairs")) {
    auto pairs = ReadLfwPairs(args->Get("--lfw-pairs"), root + "/images");
    if (!pairs.ok()) return Fail(pairs.status());
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < photos->size(); ++i) index[(*photos)[i].path] = i;
    std::vector<float> scores;
    for (const auto& p : *pairs) {
      auto a = index.find(p.a), b = index.find(p.b);
      if (a == index.end() || b == index.end())
        return Fail(Status::InvalidArgument(p.a + " or " + p.b + " of --lfw-pairs is not among the evaluated photos"));
      const auto &va = emb->vectors[a->second], &vb = emb->vectors[b->second];
      if (va.empty() || vb.empty()) {
        scores.push_back(NAN);
        continue;
      }
      float dot = 0;
      for (size_t k = 0; k < va.size(); ++k) dot += va[k] * vb[k];
      scores.push_back(AdjustScore(options, a->second, b->second, dot));
    }
    const VerificationReport v = EvaluateVerification(*pairs, scores);
    j["lfw_pairs"] = {{"pairs", v.pairs}, {"accuracy_mean", v.accuracy_mean}, {"accuracy_std", v.accuracy_std},
                      {"tar_at_far", v.tar_at_far}};
  }
  j["genuine_pairs_across_groups"] = r.genuine_pairs_across_groups;
  j["unlabelled_photos"] = r.unlabelled_photos;
  j["photos"] = photos->size();
  j["photos_without_face"] = emb->failures;
  j["bootstrap"] = {{"resamples", r.resamples}, {"seed", r.seed}, {"confidence", r.confidence},
                    {"unit", "a person within a group, drawn with replacement in each group"}};
  j["identification"] = ident;
  j["model"] = emb->model_id;
  j["face_choice"] = face;
  j["calibration"] = {{"file", Calibration::PathFor(*model)}, {"sha256", cal->sha256},
                      {"dataset", cal->dataset}};
  j["identities"] = ids_file;
  j["groups_file"] = groups_file;
  j["seconds"] = {{"read_and_embed", std::chrono::duration<double>(t1 - t0).count()},
                  {"pairs_and_bootstrap", std::chrono::duration<double>(t2 - t1).count()},
                  {"identification", std::chrono::duration<double>(t3 - t2).count()}};

  const std::string report_dir = args->Get("--report");
  if (!report_dir.empty()) {
    std::filesystem::create_directories(report_dir, ec);
    if (ec) return Fail(Status::IOError(report_dir + ": cannot create folder (" + ec.message() + ")"));
    std::vector<Series> det;
    double worst = 0, x_min = 1;
    for (size_t g = 0; g < r.groups.size(); ++g) {
      const GroupRates& gr = r.groups[g];
      if (gr.det.empty()) continue;
      Series s{gr.name + " (" + std::to_string(gr.genuine_pairs) + " genuine, " + std::to_string(gr.impostor_pairs) +
                   " impostor pairs)",
               {}, kColours[g % std::size(kColours)]};
      for (const auto& [fmr, fnmr] : gr.det) {
        s.points.push_back({fmr, fnmr});
        if (fmr >= 1e-5) worst = std::max(worst, fnmr);  // the axis spans the rates thresholds are set at
        x_min = std::min(x_min, fmr);
      }
      det.push_back(std::move(s));
    }
    PlotOptions po;
    po.title = "DET per group: FNMR vs within-group FMR (" + emb->model_id.substr(0, emb->model_id.find('@')) + ")";
    po.x_label = "FMR within the group";
    po.y_label = "false non-match rate";
    po.log_x = true;
    po.x_min = std::pow(10.0, std::floor(std::log10(std::max(x_min, 1e-9))));
    po.x_max = 1e-1;
    po.x_min = std::max(po.x_min, 1e-7);
    po.y_max = std::min(1.0, std::ceil(worst * 20 + 1e-9) / 20);
    if (po.y_max <= 0) po.y_max = 0.05;
    const std::string png = report_dir + "/det.png";
    if (!cv::imwrite(png, PlotCurves(det, po))) return Fail(Status::IOError(png + ": cannot write"));
    j["report"] = report_dir;
    std::ofstream out(report_dir + "/report.json");
    out << j.dump(2) << "\n";
    if (!out) return Fail(Status::IOError(report_dir + "/report.json: cannot write"));
  }

  if (args->Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  const int pct = static_cast<int>(std::lround(r.confidence * 100));
  std::printf("Per group at the calibrated thresholds (%d%% intervals from %d resamples of people):\n", pct, r.resamples);
  Table t({"group", "people", "photos", "genuine pairs", "impostor pairs", "threshold (FMR over all pairs)",
           "FMR within the group", "FNMR"});
  // In the order of the targets, strictest last.
  std::vector<std::pair<std::string, float>> ordered;
  for (double fmr : kFmrTargets) ordered.push_back({Fmt("%g", fmr), r.thresholds.at(Fmt("%g", fmr))});
  for (const GroupRates& g : r.groups)
    for (const auto& [key, th] : ordered) {
      const auto& f = g.fmr.at(key);
      const auto& m = g.fnmr.at(key);
      t.Add({g.name, std::to_string(g.people), std::to_string(g.photos), std::to_string(g.genuine_pairs),
             std::to_string(g.impostor_pairs), Fmt("%.4f", th) + " (" + key + ")",
             Rate(f.rate) + " (" + std::to_string(f.errors) + ")" + Range(f.low, f.high, Rate),
             Pct(m.rate) + " (" + std::to_string(m.errors) + ")" + Range(m.low, m.high, Pct)});
    }
  for (const auto& [key, th] : ordered) {
    const auto& f = r.cross.fmr.at(key);
    t.Add({"cross-group", "", "", "", std::to_string(r.cross.impostor_pairs), Fmt("%.4f", th) + " (" + key + ")",
           Rate(f.rate) + " (" + std::to_string(f.errors) + ")" + Range(f.low, f.high, Rate), ""});
  }
  t.Print();
  Table rt({"threshold", "FMR ratio (highest / lowest)", "FNMR ratio (highest / lowest)"});
  for (const auto& [key, th] : ordered) {
    const auto& f = r.fmr_ratio.at(key);
    const auto& m = r.fnmr_ratio.at(key);
    auto text = [&](const GroupRatio& x) {
      if (x.highest.empty()) return std::string("-");
      return Ratio(x.ratio) + " (" + x.highest + " / " + x.lowest + ")" + Range(x.low, x.high, Ratio);
    };
    rt.Add({"FMR " + key + " (" + Fmt("%.4f", th) + ")", text(f), text(m)});
  }
  rt.Print();
  Table ot({"threshold", "FMR over all pairs", "TAR (genuine pairs at or above)"});
  for (const auto& [key, th] : ordered)
    ot.Add({Fmt("%.4f", th) + " (" + key + ", " + j["threshold_basis"].get<std::string>() + ")",
            Rate(r.overall.fmr.at(key).rate), Pct(1 - r.overall.fnmr.at(key).rate)});
  ot.Print();
  if (j.contains("lfw_pairs"))
    std::printf("LFW pairs.txt with this score: 10-fold accuracy %.2f%% ± %.2f, TAR at FAR 1e-3 %.2f%%\n",
                100 * j["lfw_pairs"]["accuracy_mean"].get<double>(), 100 * j["lfw_pairs"]["accuracy_std"].get<double>(),
                100 * j["lfw_pairs"]["tar_at_far"]["0.001"].get<double>());
  if (!by_group.empty()) {
    std::printf("1:N protocol split by the probe's group (gallery %d; threshold set on all probes):\n",
                report->gallery_enrolled);
    Table st({"threshold", "group", "mated searches", "FNIR", "non-mated searches", "FPIR"});
    for (const auto& [key, th] : search_thresholds)
      for (const auto& g : by_group) {
        const auto& x = g.at.at(key);
        st.Add({key + " (" + Fmt("%.4f", th) + ")", g.name, std::to_string(x.mated_searches),
                Pct(x.fnir) + " (" + std::to_string(x.mated_missed) + ")", std::to_string(x.non_mated_searches),
                Pct(x.fpir) + " (" + std::to_string(x.non_mated_above) + ")"});
      }
    st.Print();
  }
  std::printf("%zu photos (%d without a face, %d without a group), model %s, face %s; %.1f s reading and embedding, "
              "%.1f s pairs and bootstrap, %.1f s 1:N\n",
              photos->size(), emb->failures, r.unlabelled_photos, emb->model_id.c_str(), face.c_str(),
              j["seconds"]["read_and_embed"].get<double>(), j["seconds"]["pairs_and_bootstrap"].get<double>(),
              j["seconds"]["identification"].get<double>());
  if (!report_dir.empty()) std::printf("report: %s/report.json, DET curves: %s/det.png\n", report_dir.c_str(), report_dir.c_str());
  return kExitOk;
}

}  // namespace lineup::cli
