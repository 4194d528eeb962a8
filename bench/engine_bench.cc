// lineup_bench_engines: each inference engine on each of Lineup's networks, on real
// inputs made from LFW photos, against OpenCV DNN: ms per forward pass on one thread,
// GFLOP/s, and how far the outputs are from OpenCV's (max abs difference; for
// fr_feature the cosine of the 512-value vectors).
//
//   lineup_bench_engines [--photos 200] [--engines opencv,dnnl]
//       [--nets fr_feature,fr_landmark,fr_detect] [--reps 3] [--json OUT]
//
// Inputs: the first --photos LFW photos in path order; for fr_feature every face found
// by the default (OpenCV) analyzer, aligned to 112x112 as the embedder feeds it (BGR,
// (v-127)/128); for fr_landmark the 64x64 grey crop of each face's square (v/256); for
// fr_detect each photo fitted into 320x240 (RGB, (v-127)/128).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "bench_util.h"
#include "lineup/aligner.h"
#include "lineup/analyzer.h"
#include "lineup/inference.h"
#include "lineup/models.h"

namespace fs = std::filesystem;
using namespace lineup;
using namespace lineup::bench;

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t q = s.find(',', p);
    if (q == std::string::npos) q = s.size();
    if (q > p) out.push_back(s.substr(p, q - p));
    p = q + 1;
  }
  return out;
}

std::vector<float> Flat(const cv::Mat& blob) { return std::vector<float>(blob.ptr<float>(), blob.ptr<float>() + blob.total()); }

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  std::string err;
  if (!flags.Parse(argc, argv, {"--photos", "--engines", "--nets", "--reps", "--json", "--data"}, {}, &err)) {
    std::fprintf(stderr, "lineup_bench_engines: %s\n", err.c_str());
    return 2;
  }
  int n_photos = 0, reps = 0;
  if (!flags.GetInt("--photos", 200, 1, 13233, &n_photos, &err) || !flags.GetInt("--reps", 3, 1, 100, &reps, &err)) {
    std::fprintf(stderr, "lineup_bench_engines: %s\n", err.c_str());
    return 2;
  }
  const auto engines = Split(flags.Get("--engines", "opencv,dnnl"));
  const auto nets = Split(flags.Get("--nets", "fr_feature,fr_landmark,fr_detect"));
  cv::setNumThreads(1);

  std::vector<std::string> paths;
  for (const auto& e : fs::recursive_directory_iterator(DataRoot(flags.Get("--data")) + "/lfw/images"))
    if (e.path().extension() == ".jpg") paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  if (paths.size() > size_t(n_photos)) paths.resize(size_t(n_photos));

  // Real inputs for each network.
  std::map<std::string, std::vector<std::vector<float>>> inputs;
  AnalyzerOptions ao;
  auto analyzer = FaceAnalyzer::Create(ao);
  if (!analyzer.ok()) {
    std::fprintf(stderr, "lineup_bench_engines: %s\n", analyzer.status().ToString().c_str());
    return 1;
  }
  for (const auto& p : paths) {
    cv::Mat photo = cv::imread(p, cv::IMREAD_COLOR);
    if (photo.empty()) continue;
    cv::Mat fit;
    cv::resize(photo, fit, cv::Size(320, 240));
    inputs["fr_detect"].push_back(Flat(cv::dnn::blobFromImage(fit, 1.0 / 128, cv::Size(320, 240), cv::Scalar::all(127), true, false)));
    auto faces = (*analyzer)->Analyze(photo, false);
    if (!faces.ok()) continue;
    for (const Face& f : *faces) {
      cv::Mat aligned = AlignFace(photo, f.five);
      inputs["fr_feature"].push_back(Flat(cv::dnn::blobFromImage(aligned, 1.0 / 128, cv::Size(112, 112), cv::Scalar::all(127), false, false)));
      cv::Rect2f sq(f.box.x + f.box.width / 2 - f.box.height / 2, f.box.y, f.box.height, f.box.height);
      cv::Rect r = cv::Rect(sq) & cv::Rect(0, 0, photo.cols, photo.rows);
      cv::Mat grey, crop;
      cv::cvtColor(photo(r), grey, cv::COLOR_BGR2GRAY);
      cv::resize(grey, crop, cv::Size(64, 64), 0, 0, cv::INTER_AREA);
      inputs["fr_landmark"].push_back(Flat(cv::dnn::blobFromImage(crop, 1.0 / 256)));
    }
  }

  nlohmann::json report;
  report["machine"] = MachineJson();
  report["photos"] = paths.size();
  report["load_before"] = LoadString(LoadAverages());
  Table table({"network", "engine", "inputs", "ms/pass", "GFLOP/s", "max |diff|", "cosine min", "cosine mean"});
  for (const auto& net_name : nets) {
    const auto& in = inputs[net_name];
    // Every engine's network first, then the timed rounds in turns (engine after engine,
    // `reps` times), so that a change in the machine's load hits all engines alike; the
    // best round of each counts.
    std::vector<std::string> names;
    std::vector<std::unique_ptr<InferenceNet>> built;
    for (const auto& engine : engines) {
      auto net = InferenceNet::Load(engine, DefaultModelDir(), net_name + ".onnx");
      if (!net.ok()) {
        table.Row({net_name, engine, "-", net.status().message()});
        report["results"].push_back({{"net", net_name}, {"engine", engine}, {"error", net.status().message()}});
        continue;
      }
      names.push_back(engine);
      built.push_back(std::move(*net));
    }
    std::vector<std::vector<std::vector<std::vector<float>>>> outs(built.size(), std::vector<std::vector<std::vector<float>>>(in.size()));
    std::vector<double> best(built.size(), 1e30);
    for (int r = 0; r < reps; ++r)
      for (size_t e = 0; e < built.size(); ++e) {
        InferenceNet& net = *built[e];
        for (size_t i = 0; i < std::min<size_t>(in.size(), 5); ++i) (void)net.Run(in[i]);  // warm caches
        auto t0 = Clock::now();
        for (size_t i = 0; i < in.size(); ++i) {
          if (Status s = net.Run(in[i]); !s.ok()) {
            std::fprintf(stderr, "%s on %s: %s\n", names[e].c_str(), net_name.c_str(), s.ToString().c_str());
            return 1;
          }
          if (r == 0)
            for (size_t k = 0; k < net.OutputCount(); ++k) {
              auto o = net.Output(k);
              outs[e][i].emplace_back(o.begin(), o.end());
            }
        }
        best[e] = std::min(best[e], MsBetween(t0, Clock::now()) / std::max<size_t>(1, in.size()));
      }
    const auto ref = std::find(names.begin(), names.end(), "opencv");
    for (size_t e = 0; e < built.size(); ++e) {
      double max_diff = 0, cos_min = 1, cos_sum = 0;
      const bool compare = ref != names.end();
      const auto& reference = compare ? outs[size_t(ref - names.begin())] : outs[e];
      if (compare)
        for (size_t i = 0; i < in.size(); ++i) {
          for (size_t k = 0; k < outs[e][i].size(); ++k)
            for (size_t j = 0; j < outs[e][i][k].size(); ++j)
              max_diff = std::max(max_diff, double(std::fabs(outs[e][i][k][j] - reference[i][k][j])));
          double dot = 0, na = 0, nb = 0;
          for (size_t j = 0; j < outs[e][i][0].size(); ++j) {
            dot += double(outs[e][i][0][j]) * reference[i][0][j];
            na += double(outs[e][i][0][j]) * outs[e][i][0][j];
            nb += double(reference[i][0][j]) * reference[i][0][j];
          }
          const double c = dot / std::sqrt(std::max(1e-30, na * nb));
          cos_min = std::min(cos_min, c);
          cos_sum += c;
        }
      const double gflops = built[e]->Flops() / (best[e] * 1e-3) / 1e9;
      const bool is_vec = net_name == "fr_feature";
      table.Row({net_name, names[e], std::to_string(in.size()), Fmt("%.3f", best[e]), Fmt("%.1f", gflops),
                 compare ? Fmt("%.2e", max_diff) : "-", compare && is_vec ? Fmt("%.7f", cos_min) : "-",
                 compare && is_vec ? Fmt("%.7f", cos_sum / std::max<size_t>(1, in.size())) : "-"});
      nlohmann::json row = {{"net", net_name}, {"engine", names[e]}, {"inputs", in.size()}, {"ms_per_pass", best[e]},
                            {"gflops", gflops}, {"mflop_per_pass", built[e]->Flops() / 1e6}};
      if (compare) {
        row["max_abs_diff"] = max_diff;
        if (is_vec) {
          row["cosine_min"] = cos_min;
          row["cosine_mean"] = cos_sum / std::max<size_t>(1, in.size());
        }
      }
      report["results"].push_back(row);
    }
  }
  std::printf("%s", table.Render().c_str());
  std::printf("load %s\n", LoadString(LoadAverages()).c_str());
  return FinishJson(flags, report, "lineup_bench_engines");
}
