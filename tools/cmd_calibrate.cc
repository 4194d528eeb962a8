// lineup calibrate: thresholds for chosen false-match rates from every impostor pair of
// a labelled photo set (LFW: about 87 million comparisons).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/identification.h"

namespace lineup::cli {

const Command kCalibrateCommand = {
    .name = "calibrate",
    .summary = "thresholds for FMR 1e-2..1e-5 from all impostor pairs of a labelled set",
    .usage = {"calibrate --root DIR [--identities TSV] [--groups TSV] [--out FILE] [--limit N] [--vectors FILE]"},
    .options = {{"--root", "DIR", "the labelled set: DIR/images/ and DIR/identities.tsv, as ../shared/data/lfw"},
                {"--identities", "TSV",
                 "image_relpath<TAB>identity lines, paths relative to DIR (default DIR/identities.tsv)"},
                {"--groups", "TSV",
                 "image_relpath<TAB>group lines (e.g. DIR/groups_gender.tsv): searches are also measured per "
                 "group of the probe, and a search states each group's FPIR beside the one it holds for all probes"},
                {"--out", "FILE",
                 "where to write the calibration (default calibration/ of the source tree, named by model)"},
                {"--limit", "N", "use only the first N photos (default all)"},
                {"--vectors", "FILE",
                 "keep the faces' vectors (the most central face of each photo) in FILE and read them from it next "
                 "time instead of embedding again"},
                kJsonOption},
    .examples = {"lineup calibrate --root ../shared/data/lfw --limit 200 --out out/calibration.json"},
    .notes = "Two measurements: every impostor pair (FMR per comparison), and every photo searched, as someone absent "
             "from the gallery, against blocks of 10 to 10,000 photos of other people (FPIR per search of that "
             "size; docs/accuracy.md says how a search's threshold is derived from them). "
             "`make calibrate` calibrates every embedder on all of LFW (about 87 million comparisons).",
    .reads_photos = true,
};

int CmdCalibrate(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kCalibrateCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kCalibrateCommand, "calibrate takes no arguments, got \"" + args->positional[0] + "\"");
  if (!args->Has("--root")) return Misuse(kCalibrateCommand, "calibrate needs --root DIR");
  auto opts = AnalyzerOptionsFrom(*args);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  auto limit = args->GetInt("--limit", 0, 2, 100000000);
  if (!opts.ok()) return Fail(opts.status());
  if (!threads.ok()) return Fail(threads.status());
  if (!limit.ok()) return Fail(limit.status());
  const std::string root = args->Get("--root");
  const std::string ids_file = args->Get("--identities", root + "/identities.tsv");

  auto listed = ReadIdentities(ids_file, root);
  if (!listed.ok()) return Fail(listed.status());
  std::vector<std::string> paths;
  std::vector<int> label;
  std::map<std::string, int> ids;
  for (const LabelledPhoto& p : *listed) {
    paths.push_back(p.path);
    label.push_back(ids.emplace(p.identity, static_cast<int>(ids.size())).first->second);
    if (*limit > 0 && static_cast<int>(paths.size()) >= *limit) break;
  }
  // Each photo's group, -1 where the groups file does not list it.
  std::vector<int> group(paths.size(), -1);
  std::vector<std::string> group_names;
  if (args->Has("--groups")) {
    auto groups = ReadPhotoLabels(args->Get("--groups"), root, "group");
    if (!groups.ok()) return Fail(groups.status());
    std::map<std::string, int> named;
    std::map<std::string, int> of;
    for (const LabelledPhoto& g : *groups) {
      auto [it, fresh] = named.emplace(g.identity, static_cast<int>(group_names.size()));
      if (fresh) group_names.push_back(g.identity);
      of[g.path] = it->second;
    }
    for (size_t i = 0; i < paths.size(); ++i)
      if (auto it = of.find(paths[i]); it != of.end()) group[i] = it->second;
  }
  auto emb = EmbedPhotosCached(*opts, paths, *threads, FacePick::kCentral, args->Get("--vectors"));
  if (!emb.ok()) return Fail(emb.status());

  // Every pair of photos with a face: same identity -> genuine, else impostor.
  std::vector<int> keep;
  for (size_t i = 0; i < paths.size(); ++i)
    if (!emb->vectors[i].empty()) keep.push_back(static_cast<int>(i));
  const int n = static_cast<int>(keep.size());
  if (n < 2) return Fail(Status::InvalidArgument("fewer than two photos with a face"));
  const int dim = static_cast<int>(emb->vectors[static_cast<size_t>(keep[0])].size());
  cv::Mat e(n, dim, CV_32F);
  for (int r = 0; r < n; ++r) std::memcpy(e.ptr<float>(r), emb->vectors[static_cast<size_t>(keep[static_cast<size_t>(r)])].data(), sizeof(float) * static_cast<size_t>(dim));
  std::vector<int64_t> imp(kHistogramBins, 0), gen(kHistogramBins, 0);
  const int block = 512;
  for (int r0 = 0; r0 < n; r0 += block) {
    int r1 = std::min(n, r0 + block);
    cv::Mat s;
    cv::gemm(e.rowRange(r0, r1), e.rowRange(r0, n), 1.0, cv::Mat(), 0.0, s, cv::GEMM_2_T);
    for (int r = r0; r < r1; ++r) {
      const float* row = s.ptr<float>(r - r0);
      const int li = label[static_cast<size_t>(keep[static_cast<size_t>(r)])];
      for (int c = r + 1; c < n; ++c) {
        bool same = label[static_cast<size_t>(keep[static_cast<size_t>(c)])] == li;
        (same ? gen : imp)[static_cast<size_t>(HistogramBin(row[c - r0]))]++;
      }
    }
  }
  Calibration cal = Calibration::FromHistograms(imp, gen);
  {
    // Search sizes up to what every probe can fill: the photos not of its own identity.
    std::map<int, int> per_identity;
    for (int r = 0; r < n; ++r) per_identity[label[static_cast<size_t>(keep[static_cast<size_t>(r)])]]++;
    int largest = 0;
    for (const auto& [id, count] : per_identity) largest = std::max(largest, count);
    std::vector<int64_t> sizes;
    for (int64_t b : {10, 20, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000})
      if (b <= n - largest) sizes.push_back(b);
    std::vector<int> kept_label, kept_group;
    for (int r = 0; r < n; ++r) {
      kept_label.push_back(label[static_cast<size_t>(keep[static_cast<size_t>(r)])]);
      kept_group.push_back(group[static_cast<size_t>(keep[static_cast<size_t>(r)])]);
    }
    cal.search_curves = MeasureSearchCurves(e.ptr<float>(0), n, dim, kept_label, kept_group, group_names, sizes);
  }
  cal.model_id = emb->model_id;
  std::ostringstream ds;
  ds << std::filesystem::path(root).filename().string() << " (" << ids_file.substr(ids_file.find_last_of('/') + 1) << ": "
     << paths.size() << " photos, " << ids.size() << " identities, " << emb->failures << " without a face";
  if (!group_names.empty()) {
    const std::string g = args->Get("--groups");
    ds << "; groups from " << g.substr(g.find_last_of('/') + 1) << ":";
    for (size_t i = 0; i < group_names.size(); ++i) ds << (i ? ", " : " ") << group_names[i];
  }
  ds << ")";
  cal.dataset = ds.str();
  cal.command = "lineup calibrate --root " + root;
  for (const char* k : {"--identities", "--groups", "--limit", "--detector", "--embedder", "--landmarks", "--min-face", "--max-pixels"})
    if (args->Has(k)) cal.command.append(" ").append(k).append(" ").append(args->Get(k));
  std::string out = args->Get("--out");
  if (out.empty()) {
    EmbeddingModel m;
    auto a = FaceAnalyzer::Create(*opts);
    if (!a.ok()) return Fail(a.status());
    out = Calibration::PathFor((*a)->Model());
  }
  Status w = cal.Save(out);
  if (!w.ok()) return Fail(w);
  if (args->Has("--json")) {
    nlohmann::json j = cal.ToJson();
    j["out"] = out;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  Table t({"FMR", "threshold", "TMR (genuine pairs at or above)"});
  for (size_t i = 0; i < cal.points.size(); ++i)
    t.Add({Fmt("%.1e", cal.points[i].first), Fmt("%.4f", cal.points[i].second), Fmt("%.4f", cal.tmr[i])});
  t.Print();
  if (!cal.search_curves.empty()) {
    // The threshold each measured search size needs for FPIR 1%, per group of the probe.
    Table st({"search of", "probes", "searches", "threshold for FPIR 1%", "FPIR 0.1%"});
    for (const auto& c : cal.search_curves) {
      auto at = [&](double rate) {
        for (const auto& [r, th] : c.points)
          if (std::abs(r - rate) < 1e-9 * rate) return Fmt("%.4f", th);
        return std::string("-");
      };
      st.Add({std::to_string(c.faces) + " faces", c.group.empty() ? "all" : c.group,
              std::to_string(c.searches), at(0.01), at(0.001)});
    }
    st.Print();
  }
  std::printf("%lld impostor and %lld genuine comparisons from %s\nwritten to %s\n",
              static_cast<long long>(cal.impostor_comparisons), static_cast<long long>(cal.genuine_comparisons),
              cal.dataset.c_str(), out.c_str());
  return kExitOk;
}

}  // namespace lineup::cli
