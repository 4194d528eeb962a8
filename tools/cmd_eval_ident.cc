// lineup eval ident: open-set 1:N identification accuracy by the LFW 1:N protocol
// (lineup/identification.h; ../shared/data/README.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <opencv2/imgcodecs.hpp>

#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/embedder.h"
#include "lineup/identification.h"
#include "lineup/models.h"
#include "lineup/plot.h"

namespace lineup::cli {

namespace {
nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json MetricsJson(const IdentificationReport& r) {
  nlohmann::json fnir = nlohmann::json::object(), thr = nlohmann::json::object(), fpir = nlohmann::json::object();
  for (const auto& [k, v] : r.fnir_at_fpir) fnir[k] = Num(v);
  for (const auto& [k, v] : r.threshold_at_fpir) thr[k] = Num(v);  // null: any threshold
  for (const auto& [k, v] : r.fpir_actual) fpir[k] = Num(v);
  nlohmann::json cmc = nlohmann::json::array();
  for (double v : r.cmc) cmc.push_back(Num(v));
  return {{"rank1", Num(r.rank1)},
          {"rank5", Num(r.rank5)},
          {"rank10", r.cmc.size() >= 10 ? Num(r.cmc[9]) : nullptr},
          {"fnir_at_fpir", fnir},
          {"thresholds_at_fpir", thr},
          {"fpir_actual", fpir},
          {"cmc", cmc}};
}

Series CmcSeries(const IdentificationReport& r, const std::string& label, cv::Scalar colour) {
  Series s{label, {}, colour};
  for (size_t k = 0; k < r.cmc.size(); ++k) s.points.push_back({static_cast<double>(k + 1), r.cmc[k]});
  return s;
}

Series DetSeries(const IdentificationReport& r, const std::string& label, cv::Scalar colour) {
  Series s{label, {}, colour};
  for (const auto& p : r.det) s.points.push_back({p.fpir, p.fnir});
  return s;
}

// The smallest of 0.05, 0.1, 0.2, 0.5, 1 that covers v: axis spans with round ticks.
double NiceSpan(double v) {
  for (double s : {0.05, 0.1, 0.2, 0.5})
    if (v <= s) return s;
  return 1.0;
}

std::string Pct(double v) { return std::isfinite(v) ? Fmt("%.2f%%", 100 * v) : std::string("-"); }
std::string Thr(float t) { return std::isfinite(t) ? Fmt("%.4f", t) : std::string("any"); }
}  // namespace

const Command kEvalIdentCommand = {
    .name = "eval ident",
    .summary = "open-set 1:N identification (rank-1, FNIR at FPIR) by the LFW 1:N protocol",
    .usage = {"eval ident --root DIR [--identities TSV] [--report OUT_DIR] [--json]",
              "eval ident ... [--limit-people N] [--threads N] [--face central|largest]",
              "eval ident ... [--ranking cohort|raw] [--score-norm as-norm [--cohort-k K]]"},
    .options = {{"--root", "DIR", "the folder the identities file's paths are relative to"},
                {"--identities", "TSV", "image_relpath<TAB>identity lines (default DIR/identities.tsv)"},
                {"--report", "OUT_DIR",
                 "also write report.json, searches.tsv and the curves cmc.png and det.png there"},
                {"--limit-people", "N", "only the first N people (default all)"},
                {"--face", "central|largest", "the face taken from each photo (default central)"},
                {"--ranking", "cohort|raw",
                 "cohort (default, as `lineup search`): similarity normalised against the enrolled faces; raw: plain"},
                {"--score-norm", "as-norm",
                 "also report the metrics after adaptive score normalisation (experimental)"},
                {"--cohort-k", "K", "the cohort size of --score-norm (default 100)"},
                kJsonOption},
    .examples = {"lineup eval ident --root ../shared/data/lfw --limit-people 300"},
    .notes = "Thresholds apply to the plain similarity whatever the ranking.",
    .reads_photos = true,
};

int CmdEvalIdent(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEvalIdentCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kEvalIdentCommand, "eval ident takes no arguments, got \"" + args->positional[0] + "\"");
  if (!args->Has("--root")) return Misuse(kEvalIdentCommand, "eval ident needs --root DIR");
  auto opts = AnalyzerOptionsFrom(*args);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  auto limit = args->GetInt("--limit-people", 0, 1, 100000000);
  auto cohort_k = args->GetInt("--cohort-k", 100, 2, 100000);
  if (!opts.ok()) return Fail(opts.status());
  if (!threads.ok()) return Fail(threads.status());
  if (!limit.ok()) return Fail(limit.status());
  if (!cohort_k.ok()) return Fail(cohort_k.status());
  const std::string face = args->Get("--face", "central");
  if (face != "central" && face != "largest") return Fail(Status::InvalidArgument("--face must be largest or central"));
  const std::string norm = args->Get("--score-norm");
  if (args->Has("--score-norm") && norm != "as-norm")
    return Fail(Status::InvalidArgument("--score-norm must be as-norm"));
  if (args->Has("--cohort-k") && norm.empty()) return Fail(Status::InvalidArgument("--cohort-k needs --score-norm"));
  const std::string ranking = args->Get("--ranking", "cohort");
  if (ranking != "cohort" && ranking != "raw") return Fail(Status::InvalidArgument("--ranking must be cohort or raw"));
  const std::string root = args->Get("--root");
  const std::string ids_file = args->Get("--identities", root + "/identities.tsv");
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return Fail(Status::NotFound(root + ": no such folder"));

  const auto t0 = std::chrono::steady_clock::now();
  auto photos = ReadIdentities(ids_file, root);
  if (!photos.ok()) return Fail(photos.status());
  auto split = BuildIdentificationSplit(*photos, *limit);
  if (!split.ok()) return Fail(split.status());

  // Embed only the photos the protocol uses, each once.
  std::vector<size_t> used;
  for (const auto* list : {&split->gallery, &split->mated, &split->non_mated}) used.insert(used.end(), list->begin(), list->end());
  std::sort(used.begin(), used.end());
  std::vector<std::string> paths;
  for (size_t i : used) paths.push_back((*photos)[i].path);
  auto emb = EmbedPhotos(*opts, paths, *threads, face == "central" ? FacePick::kCentral : FacePick::kLargest);
  if (!emb.ok()) return Fail(emb.status());
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<std::vector<float>> vectors(photos->size());
  for (size_t k = 0; k < used.size(); ++k) vectors[used[k]] = std::move(emb->vectors[k]);

  IdentificationOptions plain_options;
  plain_options.ranking = ranking;
  auto plain = EvaluateIdentification(vectors, split->labels, *split, plain_options);
  if (!plain.ok()) return Fail(plain.status());
  Result<IdentificationReport> normed = Status::InvalidArgument("not asked for");
  if (!norm.empty()) {
    IdentificationOptions o;
    o.score_norm = norm;
    o.cohort_k = *cohort_k;
    normed = EvaluateIdentification(vectors, split->labels, *split, o);
    if (!normed.ok()) return Fail(normed.status());
  }
  const auto t2 = std::chrono::steady_clock::now();
  const IdentificationReport& r = *plain;
  const double embed_s = std::chrono::duration<double>(t1 - t0).count();
  const double search_s = std::chrono::duration<double>(t2 - t1).count();

  nlohmann::json j = MetricsJson(r);
  j["gallery_size"] = r.gallery_size;
  j["gallery_enrolled"] = r.gallery_enrolled;
  j["mated_searches"] = r.mated_searches;
  j["non_mated_searches"] = r.non_mated_searches;
  j["failures_to_enrol"] = r.failures_to_enrol;
  j["mated_without_face"] = r.mated_without_face;
  j["mated_not_enrolled"] = r.mated_not_enrolled;
  j["non_mated_without_face"] = r.non_mated_without_face;
  j["photos"] = used.size();
  j["photos_without_face"] = emb->failures;
  j["people"] = split->identities.size();
  j["enrolled_people"] = split->enrolled_people;
  j["unenrolled_people"] = split->unenrolled_people;
  j["distractors"] = split->distractors;
  j["model"] = emb->model_id;
  j["detector"] = opts->detector;
  j["face_choice"] = face;
  j["ranking"] = r.ranking;
  j["identities"] = ids_file;
  j["seconds"] = {{"read_and_embed", embed_s}, {"search_and_score", search_s}};
  // The product's own decision, as `lineup search` makes it: a target FPIR turned into a
  // threshold by the calibration for this gallery's size. What share of non-mated
  // searches really returns a lead, against what the output states.
  nlohmann::json decisions = nlohmann::json::object();
  std::vector<std::pair<std::string, ThresholdOutcome>> decided;
  {
    auto e = Embedder::Create(opts->embedder.empty() ? Embedder::DefaultSpec() : opts->embedder,
                              opts->model_dir.empty() ? DefaultModelDir() : opts->model_dir);
    auto cal = e.ok() ? Calibration::ForModel((*e)->Model()) : Result<Calibration>(e.status());
    if (cal.ok()) {
      for (double target : {0.1, 0.01, 0.001}) {
        auto t = cal->ForSearch(target, r.gallery_enrolled);
        if (!t.ok()) continue;
        const ThresholdOutcome o = AtThreshold(r, t->threshold);
        const std::string key = Fmt("%g", target);
        decisions[key] = {{"threshold", t->threshold}, {"stated_fpir", t->fpir}, {"measured_fpir", Num(o.fpir)},
                          {"non_mated_with_lead", o.non_mated_above}, {"fnir", Num(o.fnir)},
                          {"ratio_measured_to_stated", Num(o.fpir / t->fpir)}};
        decided.push_back({key, o});
      }
      j["calibrated_decision"] = decisions;
    }
  }
  {
    const StageTimes& t = emb->times;
    double n = std::max<double>(1, static_cast<double>(t.photos));
    j["cpu_ms_per_photo"] = {{"decode", t.decode / n}, {"detect", t.detect / n}, {"landmarks", t.landmarks / n},
                             {"align", t.align / n},   {"quality", t.quality / n}, {"embed", t.embed / n}};
  }
  if (normed.ok()) {
    nlohmann::json n = MetricsJson(*normed);
    n["cohort_k"] = *cohort_k;
    j["score_norm"] = {{norm, n}};
  }

  const std::string report = args->Get("--report");
  if (!report.empty()) {
    std::filesystem::create_directories(report, ec);
    if (ec) return Fail(Status::IOError(report + ": cannot create folder (" + ec.message() + ")"));
    const std::string model_label = " (" + emb->model_id + ")";
    std::vector<Series> cmc{CmcSeries(r, "plain" + model_label, {200, 80, 20})};
    std::vector<Series> det{DetSeries(r, "plain" + model_label, {200, 80, 20})};
    if (normed.ok()) {
      cmc.push_back(CmcSeries(*normed, norm, {30, 140, 30}));
      det.push_back(DetSeries(*normed, norm, {30, 140, 30}));
    }
    PlotOptions cp;
    cp.title = "CMC: ";
    cp.title.append(std::to_string(r.mated_searches)).append(" mated searches, gallery ").append(std::to_string(r.gallery_enrolled));
    cp.x_label = "rank";
    cp.y_label = "identification rate (mate at or above rank)";
    cp.x_min = 0;
    cp.x_max = static_cast<double>(r.cmc.size());
    double lowest = std::isfinite(r.rank1) ? r.rank1 : 0;
    if (normed.ok() && std::isfinite(normed->rank1)) lowest = std::min(lowest, normed->rank1);
    cp.y_min = 1 - NiceSpan(1 - lowest + 0.005);
    PlotOptions dp;
    dp.title = "DET: FNIR vs FPIR, ";
    dp.title.append(std::to_string(r.non_mated_searches)).append(" non-mated searches");
    dp.x_label = "false positive identification rate (FPIR)";
    dp.y_label = "false negative identification rate (FNIR)";
    dp.log_x = true;
    dp.x_min = std::pow(10.0, std::floor(std::log10(1.0 / std::max(1, r.non_mated_searches))));
    dp.x_max = 1;
    double worst = 0;
    std::vector<const IdentificationReport*> shown{&r};
    if (normed.ok()) shown.push_back(&*normed);
    for (const auto* rep : shown)
      for (const auto& p : rep->det) worst = std::max(worst, p.fnir);
    dp.y_max = NiceSpan(worst);
    for (const auto& [name, image] : {std::pair{"cmc.png", PlotCurves(cmc, cp)}, std::pair{"det.png", PlotCurves(det, dp)}}) {
      std::string png = report + "/" + name;
      if (!cv::imwrite(png, image)) return Fail(Status::IOError(png + ": cannot write"));
    }
    std::ofstream(report + "/report.json") << j.dump(2) << "\n";
    std::ofstream tsv(report + "/searches.tsv");
    tsv << "probe\tidentity\tmated\tface\tmate_rank\tmate_score\ttop_score\ttop_candidate\ttop_identity\n";
    for (const auto& o : r.searches) {
      const auto& p = (*photos)[o.photo];
      tsv << p.path << "\t" << p.identity << "\t" << o.mated << "\t" << o.has_face << "\t" << o.rank << "\t";
      if (o.rank > 0) tsv << o.mate_score;
      tsv << "\t";
      if (o.top_photo >= 0) {
        const auto& c = (*photos)[static_cast<size_t>(o.top_photo)];
        tsv << o.top_score << "\t" << c.path << "\t" << c.identity;
      } else {
        tsv << "\t\t";
      }
      tsv << "\n";
    }
    if (!tsv) return Fail(Status::IOError(report + "/searches.tsv: cannot write"));
    j["report"] = report;
  }

  if (args->Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::vector<std::string> header{"measure", "plain"};
  if (normed.ok()) header.push_back(norm + " (k=" + std::to_string(*cohort_k) + ")");
  Table t(header);
  auto row = [&](const std::string& name, const std::string& a, const std::string& b) {
    std::vector<std::string> v{name, a};
    if (normed.ok()) v.push_back(b);
    t.Add(v);
  };
  const IdentificationReport* n = normed.ok() ? &*normed : nullptr;
  row("rank-1 identification rate", Pct(r.rank1), n ? Pct(n->rank1) : "");
  row("rank-5 identification rate", Pct(r.rank5), n ? Pct(n->rank5) : "");
  if (r.cmc.size() >= 10) row("rank-10 identification rate", Pct(r.cmc[9]), n ? Pct(n->cmc[9]) : "");
  for (const std::string key : {"0.1", "0.01", "0.001"}) {  // IdentificationOptions' default targets
    row("FNIR at FPIR " + key, Pct(r.fnir_at_fpir.at(key)), n ? Pct(n->fnir_at_fpir.at(key)) : "");
    row("  threshold (FPIR reached)", Thr(r.threshold_at_fpir.at(key)) + " (" + Pct(r.fpir_actual.at(key)) + ")",
        n ? Thr(n->threshold_at_fpir.at(key)) + " (" + Pct(n->fpir_actual.at(key)) + ")" : "");
  }
  for (const auto& [key, o] : decided) {
    const auto& d = decisions[key];
    row("calibrated decision for FPIR " + key,
        "threshold " + Thr(d["threshold"].get<float>()) + ": FPIR measured " + Pct(o.fpir) + ", FNIR " + Pct(o.fnir), "");
  }
  auto info = [&](const std::string& name, const std::string& v) { row(name, v, ""); };
  info("gallery (enrolled of planned)", std::to_string(r.gallery_enrolled) + " of " + std::to_string(r.gallery_size) +
                                            " (" + std::to_string(split->distractors) + " one-photo distractors)");
  info("mated searches", std::to_string(r.mated_searches) + " (" + std::to_string(split->enrolled_people) + " people)");
  info("non-mated searches",
       std::to_string(r.non_mated_searches) + " (" + std::to_string(split->unenrolled_people) + " people)");
  info("failures to enrol (gallery photos, no face)", std::to_string(r.failures_to_enrol));
  info("mated searches without a face (misses)", std::to_string(r.mated_without_face));
  info("mated searches whose mate has no face (misses)", std::to_string(r.mated_not_enrolled));
  info("non-mated searches without a face", std::to_string(r.non_mated_without_face));
  info("model", emb->model_id);
  info("ranking", r.ranking == "cohort" ? "cohort (similarity normalised against the gallery; thresholds on similarity)"
                                        : "raw similarity");
  info("time (read + embed, search + score)", Fmt("%.1f s", embed_s) + ", " + Fmt("%.2f s", search_s));
  t.Print();
  if (!report.empty())
    std::printf("report: %s/report.json, %s/searches.tsv; curves: %s/cmc.png, %s/det.png\n", report.c_str(),
                report.c_str(), report.c_str(), report.c_str());
  return kExitOk;
}

}  // namespace lineup::cli
