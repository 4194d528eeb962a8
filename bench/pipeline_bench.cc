// lineup_bench_pipeline: how fast Lineup turns photos into identity vectors.
//
// Two measurements:
//  1. End to end (plain timing): the first N LFW photos in sorted path order
//     (lfw/images/*/*.jpg) through AnalyzeFiles with embed=true, one pipeline per
//     worker. Reports photos/s by the wall clock, and the time per stage in CPU-ms per
//     photo (StageTimes summed over the workers, divided by N), faces found and photos
//     with no face. Files are read once beforehand so the page cache is warm; the
//     timed run still reads them (the decode stage includes the file read).
//  2. Single-pipeline latencies (Google Benchmark): decode, detect, landmarks, align,
//     quality, embed and the whole Analyze on one LFW photo (250x250) and one
//     4000x3000 photo (a group photo scaled up), each with OpenCV on 1 and on 2
//     threads (cv::setNumThreads). Times are wall-clock medians over repetitions.
//
// usage: lineup_bench_pipeline [--data DIR] [--models DIR] [--photos N] [--threads N[,N...]]
//          [--json OUT] [--list-out FILE] [--skip-micro] [--skip-e2e] [--micro-min-time S]
//          [--micro-reps N] [--micro-filter REGEX] [--benchmark_* Google Benchmark flags]
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "bench_util.h"
#include "lineup/aligner.h"
#include "lineup/analyzer.h"
#include "lineup/detector.h"
#include "lineup/embedder.h"
#include "lineup/inference.h"
#include "lineup/image.h"
#include "lineup/landmarker.h"
#include "lineup/models.h"
#include "lineup/quality.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace lineup::bench {
namespace {

constexpr const char* kUsage =
    "usage: lineup_bench_pipeline [--data DIR] [--models DIR] [--engine NAME] [--photos N] [--threads N[,N...]]\n"
    "         [--json OUT] [--list-out FILE] [--skip-micro] [--skip-e2e] [--micro-min-time S]\n"
    "         [--micro-reps N] [--micro-filter REGEX] [--benchmark_* flags]\n"
    "  --data DIR        real-photo data (default $LINEUP_DATA or ../shared/data)\n"
    "  --engine NAME     inference engine for the three networks (default: Lineup's default;\n"
    "                    docs/engine.md)\n"
    "  --photos N        first N LFW photos in sorted path order (default 1000)\n"
    "  --threads LIST    pipelines (workers) for the end-to-end run; several, comma-separated,\n"
    "                    give one run each (default: one per core)\n"
    "  --list-out FILE   write the photo list used, one path a line\n"
    "  --json OUT        write the results as JSON\n";

// ---------------------------------------------------------------------------------
// The photo list.

std::vector<std::string> FirstLfwPhotos(const std::string& data, size_t n, std::string* error) {
  fs::path images = fs::path(data) / "lfw" / "images";
  std::error_code ec;
  if (!fs::is_directory(images, ec)) {
    *error = Fmt("no LFW images at %s (set --data or LINEUP_DATA; see ../shared/data/README.md)", images.c_str());
    return {};
  }
  std::vector<std::string> all;
  for (const auto& person : fs::directory_iterator(images, ec)) {
    if (!person.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(person.path(), ec))
      if (f.is_regular_file() && f.path().extension() == ".jpg") all.push_back(f.path().string());
  }
  std::sort(all.begin(), all.end());  // byte order, as `LC_ALL=C sort`
  if (all.size() > n) all.resize(n);
  if (all.empty()) {
    *error = Fmt("no photos found under %s", images.c_str());
  }
  return all;
}

// ---------------------------------------------------------------------------------
// End to end.

struct EndToEnd {
  int threads = 0;
  double wall_ms = 0, steady_photos_per_s = 0, process_cpu_ms = 0, setup_ms = 0;
  StageTimes times;
  int64_t photos = 0, faces = 0, no_face = 0, failed = 0, multi_face = 0;
  double cosine_same = NAN, cosine_diff = NAN;
  int64_t same_pairs = 0, diff_pairs = 0;
  std::array<double, 3> load_before{}, load_after{};
  std::vector<std::string> failures;
};

// Mean cosine of the central face's vectors, same person vs different people (the
// person is the LFW folder name): a check that the run computed something sensible.
void CosineCheck(const std::vector<std::string>& paths, const std::vector<std::vector<float>>& vecs, EndToEnd* e) {
  double same = 0, diff = 0;
  for (size_t i = 0; i < vecs.size(); ++i) {
    if (vecs[i].empty()) continue;
    std::string pi = fs::path(paths[i]).parent_path().filename().string();
    for (size_t j = i + 1; j < vecs.size(); ++j) {
      if (vecs[j].empty()) continue;
      double dot = 0;
      for (size_t k = 0; k < vecs[i].size(); ++k) dot += vecs[i][k] * vecs[j][k];
      if (fs::path(paths[j]).parent_path().filename().string() == pi) {
        same += dot;
        ++e->same_pairs;
      } else {
        diff += dot;
        ++e->diff_pairs;
      }
    }
  }
  if (e->same_pairs) e->cosine_same = same / double(e->same_pairs);
  if (e->diff_pairs) e->cosine_diff = diff / double(e->diff_pairs);
}

bool RunEndToEnd(const AnalyzerOptions& opt, const std::vector<std::string>& paths, int threads, EndToEnd* e,
                 std::string* error) {
  e->threads = threads;
  e->photos = static_cast<int64_t>(paths.size());
  // Model loading as AnalyzeFiles does it (one analyzer per worker, all at once), timed
  // on its own so that it can be told apart from the photos' time.
  {
    auto t0 = Clock::now();
    std::vector<Status> made(static_cast<size_t>(threads));
    std::vector<std::thread> loaders;
    for (size_t i = 0; i < made.size(); ++i)
      loaders.emplace_back([&, i] { made[i] = FaceAnalyzer::Create(opt).status(); });
    for (auto& t : loaders) t.join();
    for (const Status& s : made)
      if (!s.ok()) {
        *error = s.ToString();
        return false;
      }
    e->setup_ms = MsBetween(t0, Clock::now());
  }
  std::vector<Clock::time_point> done_at;
  done_at.reserve(paths.size());
  std::vector<std::vector<float>> central(paths.size());
  e->load_before = LoadAverages();
  const double cpu0 = ProcessCpuMs();
  const auto t0 = Clock::now();
  Status s = AnalyzeFiles(
      opt, paths, /*embed=*/true, threads,
      [&](size_t i, PhotoAnalysis&& r) {
        done_at.push_back(Clock::now());
        if (!r.status.ok()) {
          ++e->failed;
          if (e->failures.size() < 10) e->failures.push_back(r.status.ToString());
          return;
        }
        e->faces += static_cast<int64_t>(r.faces.size());
        if (r.faces.empty()) ++e->no_face;
        if (r.faces.size() > 1) ++e->multi_face;
        int k = PickFace(r.faces, cv::Size(r.width, r.height), FacePick::kCentral);
        if (k >= 0) central[i] = std::move(r.faces[static_cast<size_t>(k)].embedding);
      },
      &e->times);
  const auto t1 = Clock::now();
  e->process_cpu_ms = ProcessCpuMs() - cpu0;
  e->load_after = LoadAverages();
  if (!s.ok()) {
    *error = s.ToString();
    return false;
  }
  e->wall_ms = MsBetween(t0, t1);
  // Steady state: from the moment each worker has finished its first photo (model
  // loading and the networks' first, slower runs are behind it) to the last photo.
  const size_t k = static_cast<size_t>(threads);
  if (done_at.size() > 2 * k) {
    double ms = MsBetween(done_at[k - 1], done_at.back());
    if (ms > 0) e->steady_photos_per_s = double(done_at.size() - k) / (ms / 1000);
  }
  CosineCheck(paths, central, e);
  return true;
}

json StagesJson(const StageTimes& t, double n) {
  json j;
  j["decode"] = t.decode / n;
  j["detect"] = t.detect / n;
  j["landmarks"] = t.landmarks / n;
  j["align"] = t.align / n;
  j["quality"] = t.quality / n;
  j["embed"] = t.embed / n;
  j["total"] = (t.decode + t.detect + t.landmarks + t.align + t.quality + t.embed) / n;
  return j;
}

json EndToEndJson(const EndToEnd& e) {
  json j;
  const double n = double(e.photos);
  j["threads"] = e.threads;
  j["opencv_threads_per_pipeline"] = e.threads > 1 ? 1 : cv::getNumThreads();
  j["photos"] = e.photos;
  j["wall_ms"] = e.wall_ms;
  j["photos_per_s"] = n / (e.wall_ms / 1000);
  j["photos_per_s_excluding_setup"] = n / ((e.wall_ms - e.setup_ms) / 1000);
  j["steady_photos_per_s"] = e.steady_photos_per_s;
  j["setup_ms"] = e.setup_ms;
  j["stages_cpu_ms_per_photo"] = StagesJson(e.times, n);
  j["process_cpu_ms_per_photo"] = e.process_cpu_ms / n;
  j["faces"] = e.faces;
  j["photos_with_no_face"] = e.no_face;
  j["photos_with_several_faces"] = e.multi_face;
  j["photos_failed"] = e.failed;
  j["failures"] = e.failures;
  j["cosine_same_person"] = e.cosine_same;
  j["cosine_different_people"] = e.cosine_diff;
  j["same_pairs"] = e.same_pairs;
  j["different_pairs"] = e.diff_pairs;
  j["load_before"] = {e.load_before[0], e.load_before[1], e.load_before[2]};
  j["load_after"] = {e.load_after[0], e.load_after[1], e.load_after[2]};
  return j;
}

void PrintEndToEnd(const std::vector<EndToEnd>& runs) {
  if (runs.empty()) return;
  std::vector<std::string> header = {"end to end"};
  for (const auto& e : runs) header.push_back(Fmt("%d pipeline%s", e.threads, e.threads == 1 ? "" : "s"));
  Table t(header);
  auto row = [&](const std::string& name, auto value) {
    std::vector<std::string> r = {name};
    for (const auto& e : runs) r.push_back(value(e));
    t.Row(r);
  };
  row("photos", [](const EndToEnd& e) { return Fmt("%lld", (long long)e.photos); });
  row("wall s", [](const EndToEnd& e) { return Fmt("%.2f", e.wall_ms / 1000); });
  row("photos/s (wall clock)", [](const EndToEnd& e) { return Fmt("%.2f", e.photos / (e.wall_ms / 1000)); });
  row("photos/s (steady state)", [](const EndToEnd& e) { return Fmt("%.2f", e.steady_photos_per_s); });
  row("model load ms (in wall)", [](const EndToEnd& e) { return Fmt("%.0f", e.setup_ms); });
  t.Rule();
  const char* names[] = {"decode", "detect", "landmarks", "align", "quality", "embed"};
  for (int s = 0; s < 6; ++s) {
    row(Fmt("%s CPU-ms/photo", names[s]), [s](const EndToEnd& e) {
      const StageTimes& x = e.times;
      double v[] = {x.decode, x.detect, x.landmarks, x.align, x.quality, x.embed};
      return Fmt("%.3f", v[s] / double(e.photos));
    });
  }
  row("sum of stages CPU-ms/photo", [](const EndToEnd& e) {
    const StageTimes& x = e.times;
    return Fmt("%.3f", (x.decode + x.detect + x.landmarks + x.align + x.quality + x.embed) / double(e.photos));
  });
  row("process CPU-ms/photo", [](const EndToEnd& e) { return Fmt("%.3f", e.process_cpu_ms / double(e.photos)); });
  t.Rule();
  row("faces found", [](const EndToEnd& e) { return Fmt("%lld", (long long)e.faces); });
  row("photos with no face", [](const EndToEnd& e) { return Fmt("%lld", (long long)e.no_face); });
  row("photos with 2+ faces", [](const EndToEnd& e) { return Fmt("%lld", (long long)e.multi_face); });
  row("photos failed", [](const EndToEnd& e) { return Fmt("%lld", (long long)e.failed); });
  row("cosine same person", [](const EndToEnd& e) { return Fmt("%.3f", e.cosine_same); });
  row("cosine different people", [](const EndToEnd& e) { return Fmt("%.3f", e.cosine_diff); });
  row("load avg before", [](const EndToEnd& e) { return LoadString(e.load_before); });
  row("load avg after", [](const EndToEnd& e) { return LoadString(e.load_after); });
  std::printf("\n%s", t.Render().c_str());
  std::printf("Stage times are the time spent inside each stage, summed over the pipelines, per photo; on a busy\n"
              "machine they include time the threads waited for a core (compare with process CPU-ms/photo).\n"
              "With 2+ pipelines each network runs on 1 OpenCV thread; with 1 pipeline on %d.\n",
              cv::getNumThreads());
  for (const auto& e : runs)
    for (const auto& f : e.failures) std::printf("  failed: %s\n", f.c_str());
}

// ---------------------------------------------------------------------------------
// Single-pipeline latencies with Google Benchmark.

struct Fixture {
  std::string model_dir;
  // One LFW photo and one 4000x3000 photo: encoded bytes, decoded pixels.
  std::string lfw_path, big_source;
  std::string lfw_bytes, big_bytes;
  cv::Mat lfw, big;
  // The LFW photo's largest face, as the pipeline sees it.
  cv::Rect2f box;
  float confidence = 0;
  std::vector<cv::Point2f> p68;
  FivePoints five{};
  cv::Mat aligned;
  std::unique_ptr<FaceDetector> pyramid, single;
  std::unique_ptr<Landmarker> landmarker;
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<FaceAnalyzer> analyzer;
  int big_faces_pyramid = 0, big_faces_single = 0;
  int landmark_runs = 1;  // landmark network runs per face (refine and mirror double it)
};

Fixture* g_fx = nullptr;
std::string g_engine;  // --engine, or Lineup's default

// Runs the body with OpenCV on state.range(0) threads, restoring the setting after.
class CvThreads {
 public:
  explicit CvThreads(int n) : saved_(cv::getNumThreads()) { cv::setNumThreads(n); }
  ~CvThreads() { cv::setNumThreads(saved_); }

 private:
  int saved_;
};

bool MakeFixture(const std::string& data, const std::string& model_dir, const std::string& lfw_path, Fixture* fx,
                 std::string* error) {
  fx->model_dir = model_dir;
  fx->lfw_path = lfw_path;
  auto bytes = ReadFileBytes(lfw_path, int64_t{64} << 20);
  if (!bytes.ok()) return *error = bytes.status().ToString(), false;
  fx->lfw_bytes = std::move(*bytes);
  auto img = ReadImage(lfw_path);
  if (!img.ok()) return *error = img.status().ToString(), false;
  fx->lfw = img->bgr;

  // 4000x3000: a group photo scaled up to cover the frame, centre-cropped.
  fx->big_source = (fs::path(data) / "groups" / "insightface_t1.jpg").string();
  auto g = ReadImage(fx->big_source);
  if (!g.ok()) return *error = g.status().ToString(), false;
  const cv::Size target(4000, 3000);
  double f = std::max(double(target.width) / g->bgr.cols, double(target.height) / g->bgr.rows);
  cv::Mat scaled;
  cv::resize(g->bgr, scaled, cv::Size(), f, f, cv::INTER_LINEAR);
  cv::Rect crop((scaled.cols - target.width) / 2, (scaled.rows - target.height) / 2, target.width, target.height);
  fx->big = scaled(crop).clone();
  std::vector<uchar> enc;
  cv::imencode(".jpg", fx->big, enc, {cv::IMWRITE_JPEG_QUALITY, 90});
  fx->big_bytes.assign(enc.begin(), enc.end());

  auto pyr = FaceDetector::Create("pyramid", model_dir, {}, g_engine);
  if (!pyr.ok()) return *error = pyr.status().ToString(), false;
  fx->pyramid = std::move(*pyr);
  auto single = FaceDetector::Create("single", model_dir, {}, g_engine);
  if (!single.ok()) return *error = single.status().ToString(), false;
  fx->single = std::move(*single);
  // The landmarker as the pipeline makes it by default.
  const AnalyzerOptions defaults;
  fx->landmark_runs = (defaults.refine_landmarks ? 2 : 1) * (defaults.mirror_landmarks ? 2 : 1);
  auto lm = Landmarker::Create(model_dir, defaults.refine_landmarks, defaults.mirror_landmarks, g_engine);
  if (!lm.ok()) return *error = lm.status().ToString(), false;
  fx->landmarker = std::move(*lm);
  auto emb = Embedder::Create(Embedder::DefaultSpec(), model_dir, g_engine);
  if (!emb.ok()) return *error = emb.status().ToString(), false;
  fx->embedder = std::move(*emb);
  AnalyzerOptions opt;
  opt.model_dir = model_dir;
  opt.engine = g_engine;
  auto an = FaceAnalyzer::Create(opt);
  if (!an.ok()) return *error = an.status().ToString(), false;
  fx->analyzer = std::move(*an);

  auto dets = fx->pyramid->Detect(fx->lfw);
  if (!dets.ok()) return *error = dets.status().ToString(), false;
  if (dets->empty()) return *error = lfw_path + ": no face found for the single-face benchmarks", false;
  const Detection* best = &dets->front();
  for (const auto& d : *dets)
    if (d.box.area() > best->box.area()) best = &d;
  fx->box = best->box;
  fx->confidence = best->confidence;
  auto lms = fx->landmarker->Locate(fx->lfw, std::span<const cv::Rect2f>(&fx->box, 1));
  if (!lms.ok()) return *error = lms.status().ToString(), false;
  fx->p68 = lms->front();
  fx->five = FivePointsFrom68(fx->p68);
  fx->aligned = AlignFace(fx->lfw, fx->five);

  auto big_dets = fx->pyramid->Detect(fx->big);
  if (big_dets.ok()) fx->big_faces_pyramid = static_cast<int>(big_dets->size());
  auto big_single = fx->single->Detect(fx->big);
  if (big_single.ok()) fx->big_faces_single = static_cast<int>(big_single->size());
  return true;
}

void BM_Decode(benchmark::State& state, const std::string* bytes) {
  CvThreads cvt(static_cast<int>(state.range(0)));
  std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
  for (auto _ : state) {
    auto img = DecodeImage(data);
    if (!img.ok()) {
      state.SkipWithError(img.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(img->bgr.data);
  }
}

void BM_Detect(benchmark::State& state, FaceDetector* det, const cv::Mat* photo) {
  CvThreads cvt(static_cast<int>(state.range(0)));
  size_t faces = 0;
  for (auto _ : state) {
    auto r = det->Detect(*photo);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    faces = r->size();
  }
  state.counters["faces"] = double(faces);
}

void BM_Landmarks(benchmark::State& state) {
  CvThreads cvt(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = g_fx->landmarker->Locate(g_fx->lfw, std::span<const cv::Rect2f>(&g_fx->box, 1));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r->front().data());
  }
}

void BM_Align(benchmark::State& state) {
  CvThreads cvt(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    cv::Mat a = AlignFace(g_fx->lfw, g_fx->five);
    benchmark::DoNotOptimize(a.data);
  }
}

void BM_Quality(benchmark::State& state) {
  CvThreads cvt(static_cast<int>(state.range(0)));
  Face face;
  face.box = g_fx->box;
  face.confidence = g_fx->confidence;
  face.landmarks68 = g_fx->p68;
  face.five = g_fx->five;
  for (auto _ : state) {
    AssessQuality(face, g_fx->aligned, g_fx->lfw.size());
    benchmark::DoNotOptimize(face.quality.score);
  }
}

void BM_Embed(benchmark::State& state) {
  CvThreads cvt(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = g_fx->embedder->Embed(std::span<const cv::Mat>(&g_fx->aligned, 1));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r->data);
  }
}

// Everything after decoding, for all faces of the photo (what AnalyzeFile does).
void BM_Analyze(benchmark::State& state, const cv::Mat* photo) {
  CvThreads cvt(static_cast<int>(state.range(0)));
  size_t faces = 0;
  for (auto _ : state) {
    auto r = g_fx->analyzer->Analyze(*photo, true);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    faces = r->size();
  }
  state.counters["faces"] = double(faces);
}

struct MicroResult {
  std::string name, op, what;
  int cv_threads = 0;
  double median_ms = 0, mean_ms = 0, stddev_ms = 0, min_ms = 0, cpu_ms = 0;
  int64_t iterations = 0;
  int repetitions = 0;
  double faces = -1;
  std::string error;
};

double ToMs(double v, benchmark::TimeUnit u) {
  switch (u) {
    case benchmark::kNanosecond: return v / 1e6;
    case benchmark::kMicrosecond: return v / 1e3;
    case benchmark::kMillisecond: return v;
    case benchmark::kSecond: return v * 1e3;
  }
  return v;
}

// Shows Google Benchmark's own console lines and keeps the numbers.
class Collector : public benchmark::ConsoleReporter {
 public:
  Collector() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown;  // the median and spread when repeated, else the run
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Aggregate ? r.aggregate_name == "median" || r.aggregate_name == "stddev"
                                          : r.repetitions <= 1)
        shown.push_back(r);
    for (const Run& r : runs) {
      std::string base = r.run_name.function_name;
      base += "/";
      base += r.run_name.args;
      MicroResult& m = Get(base, r);
      if (r.error_occurred) {
        m.error = r.error_message;
        continue;
      }
      double real = ToMs(r.GetAdjustedRealTime(), r.time_unit);
      if (r.run_type == Run::RT_Iteration) {
        samples_[base].push_back(real);
        m.iterations += r.iterations;
        m.cpu_ms = ToMs(r.GetAdjustedCPUTime(), r.time_unit);
        if (auto it = r.counters.find("faces"); it != r.counters.end()) m.faces = it->second.value;
      } else if (r.aggregate_name == "stddev") {
        m.stddev_ms = real;
      }
    }
    if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
  }

  std::vector<MicroResult> Results() {
    for (auto& m : results_) {
      auto& s = samples_[m.name];
      if (s.empty()) continue;
      std::sort(s.begin(), s.end());
      m.repetitions = static_cast<int>(s.size());
      m.median_ms = s.size() % 2 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
      m.mean_ms = std::accumulate(s.begin(), s.end(), 0.0) / double(s.size());
      m.min_ms = s.front();
    }
    return results_;
  }

 private:
  MicroResult& Get(const std::string& base, const Run& r) {
    for (auto& m : results_)
      if (m.name == base) return m;
    MicroResult m;
    m.name = base;
    const std::string& fn = r.run_name.function_name;  // "BM_Detect/pyramid 250x250"
    auto slash = fn.find('/');
    m.op = fn.substr(0, slash);
    if (m.op.rfind("BM_", 0) == 0) m.op = m.op.substr(3);
    m.what = slash == std::string::npos ? "" : fn.substr(slash + 1);
    auto colon = r.run_name.args.find(':');
    if (colon != std::string::npos) m.cv_threads = std::atoi(r.run_name.args.c_str() + colon + 1);
    results_.push_back(m);
    return results_.back();
  }
  std::vector<MicroResult> results_;
  std::map<std::string, std::vector<double>> samples_;
};

std::string Cat(const char* a, const std::string& b) {
  std::string s = a;
  s += b;
  return s;
}

void RegisterMicro(double min_time, int reps) {
  auto common = [&](benchmark::internal::Benchmark* b, bool slow) {
    b->ArgName("cv_threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->Repetitions(reps);
    if (slow) b->Iterations(1);
    else b->MinTime(min_time);
  };
  const std::string lfw = Fmt("lfw %dx%d", g_fx->lfw.cols, g_fx->lfw.rows);
  const std::string big = Fmt("%dx%d", g_fx->big.cols, g_fx->big.rows);
  auto name = [](const char* op, const std::string& what) {
    std::string s = op;
    s += "/";
    s += what;
    return s;
  };
  common(benchmark::RegisterBenchmark(name("BM_Decode", lfw).c_str(), BM_Decode, &g_fx->lfw_bytes), false);
  common(benchmark::RegisterBenchmark(name("BM_Decode", big).c_str(), BM_Decode, &g_fx->big_bytes), false);
  common(benchmark::RegisterBenchmark(name("BM_Detect", Cat("pyramid ", lfw)).c_str(), BM_Detect, g_fx->pyramid.get(),
                                      &g_fx->lfw), false);
  common(benchmark::RegisterBenchmark(name("BM_Detect", Cat("single ", lfw)).c_str(), BM_Detect, g_fx->single.get(),
                                      &g_fx->lfw), false);
  common(benchmark::RegisterBenchmark(name("BM_Detect", Cat("pyramid ", big)).c_str(), BM_Detect, g_fx->pyramid.get(),
                                      &g_fx->big), true);
  common(benchmark::RegisterBenchmark(name("BM_Detect", Cat("single ", big)).c_str(), BM_Detect, g_fx->single.get(),
                                      &g_fx->big), false);
  common(benchmark::RegisterBenchmark(
             name("BM_Landmarks", Fmt("1 face, %d net run%s", g_fx->landmark_runs, g_fx->landmark_runs > 1 ? "s" : ""))
                 .c_str(),
             BM_Landmarks),
         false);
  common(benchmark::RegisterBenchmark(name("BM_Align", "1 face").c_str(), BM_Align), false);
  common(benchmark::RegisterBenchmark(name("BM_Quality", "1 face").c_str(), BM_Quality), false);
  common(benchmark::RegisterBenchmark(name("BM_Embed", "1 face").c_str(), BM_Embed), false);
  common(benchmark::RegisterBenchmark(name("BM_Analyze", lfw).c_str(), BM_Analyze, &g_fx->lfw), false);
}

void PrintMicro(const std::vector<MicroResult>& results) {
  if (results.empty()) return;
  // One row per (op, what), the 1- and 2-thread medians side by side.
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& m : results)
    if (std::find(keys.begin(), keys.end(), std::make_pair(m.op, m.what)) == keys.end()) keys.emplace_back(m.op, m.what);
  Table t({"single pipeline (median wall ms)", "what", "1 thread", "2 threads", "speed-up", "faces"});
  for (const auto& [op, what] : keys) {
    const MicroResult *one = nullptr, *two = nullptr;
    for (const auto& m : results)
      if (m.op == op && m.what == what) (m.cv_threads == 1 ? one : two) = &m;
    auto cell = [](const MicroResult* m) {
      if (!m) return std::string("-");
      if (!m->error.empty()) return std::string("error");
      return Fmt(m->median_ms < 1 ? "%.4f" : "%.2f", m->median_ms);
    };
    std::string speedup = one && two && two->median_ms > 0 ? Fmt("%.2fx", one->median_ms / two->median_ms) : "-";
    double faces = one ? one->faces : two ? two->faces : -1;
    t.Row({op, what, cell(one), cell(two), speedup, faces >= 0 ? Fmt("%.0f", faces) : ""});
  }
  std::printf("\n%s", t.Render().c_str());
  for (const auto& m : results)
    if (!m.error.empty()) std::printf("  %s: %s\n", m.name.c_str(), m.error.c_str());
}

json MicroJson(const std::vector<MicroResult>& results) {
  json arr = json::array();
  for (const auto& m : results) {
    json j;
    j["name"] = m.name;
    j["op"] = m.op;
    j["what"] = m.what;
    j["cv_threads"] = m.cv_threads;
    j["median_ms"] = m.median_ms;
    j["mean_ms"] = m.mean_ms;
    j["min_ms"] = m.min_ms;
    j["stddev_ms"] = m.stddev_ms;
    j["main_thread_cpu_ms"] = m.cpu_ms;
    j["iterations"] = m.iterations;
    j["repetitions"] = m.repetitions;
    if (m.faces >= 0) j["faces"] = m.faces;
    if (!m.error.empty()) j["error"] = m.error;
    arr.push_back(j);
  }
  return arr;
}

// ---------------------------------------------------------------------------------

int Main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);  // takes the --benchmark_* flags out of argv
  Flags flags;
  std::string err;
  if (!flags.Parse(argc, argv,
                   {"--data", "--models", "--engine", "--photos", "--threads", "--json", "--list-out", "--micro-min-time",
                    "--micro-reps", "--micro-filter"},
                   {"--skip-micro", "--skip-e2e", "--help"}, &err)) {
    std::fprintf(stderr, "lineup_bench_pipeline: %s\n%s", err.c_str(), kUsage);
    return 2;
  }
  if (flags.Has("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  int photos = 0, reps = 0;
  double min_time = 0;
  if (!flags.GetInt("--photos", 1000, 1, 1'000'000, &photos, &err) ||
      !flags.GetInt("--micro-reps", 3, 1, 100, &reps, &err) ||
      !flags.GetDouble("--micro-min-time", 0.3, 0.01, 60, &min_time, &err)) {
    std::fprintf(stderr, "lineup_bench_pipeline: %s\n", err.c_str());
    return 2;
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> thread_runs;
  {
    std::string list = flags.Get("--threads", std::to_string(cores));
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t comma = list.find(',', pos);
      std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      char* end = nullptr;
      long v = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end || v < 1 || v > 256) {
        std::fprintf(stderr, "lineup_bench_pipeline: --threads needs whole numbers from 1 to 256, not \"%s\"\n",
                     list.c_str());
        return 2;
      }
      thread_runs.push_back(static_cast<int>(v));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  const std::string data = DataRoot(flags.Get("--data"));
  const std::string model_dir = flags.Get("--models", DefaultModelDir());
  g_engine = flags.Get("--engine", DefaultInferenceEngine());
  if (Status s = CheckInferenceEngine(g_engine); !s.ok()) {
    std::fprintf(stderr, "lineup_bench_pipeline: %s\n", s.message().c_str());
    return 2;
  }

  auto paths = FirstLfwPhotos(data, static_cast<size_t>(photos), &err);
  if (paths.empty()) {
    std::fprintf(stderr, "lineup_bench_pipeline: %s\n", err.c_str());
    return 1;
  }
  if (paths.size() < static_cast<size_t>(photos))
    std::fprintf(stderr, "lineup_bench_pipeline: only %zu LFW photos found, using them all\n", paths.size());
  if (flags.Has("--list-out")) {
    std::error_code ec;
    fs::path lp(flags.Get("--list-out"));
    if (lp.has_parent_path()) fs::create_directories(lp.parent_path(), ec);
    std::ofstream out(lp);
    for (const auto& p : paths) out << p << "\n";
    if (!out) {
      std::fprintf(stderr, "lineup_bench_pipeline: cannot write %s\n", lp.c_str());
      return 1;
    }
  }

  json report;
  report["bench"] = "lineup_bench_pipeline";
  report["build_type"] = LINEUP_BENCH_BUILD_TYPE;
  if (std::string(LINEUP_BENCH_BUILD_TYPE) != "Release")
    std::printf("WARNING: Lineup was built as \"%s\", not Release: timings are not representative\n",
                LINEUP_BENCH_BUILD_TYPE);
  report["machine"] = MachineJson();
  report["data"] = data;
  report["models"] = model_dir;
  {
    const AnalyzerOptions defaults;
    report["pipeline_options"] = {{"detector", defaults.detector},
                                  {"min_face", defaults.detector_options.min_face},
                                  {"embedder", defaults.embedder.empty() ? Embedder::DefaultSpec() : defaults.embedder},
                                  {"engine", g_engine},
                                  {"refine_landmarks", defaults.refine_landmarks},
                                  {"mirror_landmarks", defaults.mirror_landmarks}};
  }
  report["photo_list"] = {{"count", paths.size()}, {"first", paths.front()}, {"last", paths.back()},
                          {"rule", "first N of lfw/images/*/*.jpg in sorted (byte) path order"}};
  std::printf("lineup_bench_pipeline: %zu LFW photos (%s .. %s)\n", paths.size(),
              fs::path(paths.front()).filename().c_str(), fs::path(paths.back()).filename().c_str());
  std::printf("engine: %s\n", g_engine.c_str());
  std::printf("machine: %s, %u cores, OpenCV %s; load average %s\n",
              report["machine"].value("cpu", std::string("?")).c_str(), std::thread::hardware_concurrency(),
              cv::getVersionString().c_str(), LoadString(LoadAverages()).c_str());

  // End to end.
  std::vector<EndToEnd> runs;
  if (!flags.Has("--skip-e2e")) {
    // Warm the page cache so that both this and any peer run read from memory.
    for (const auto& p : paths) {
      auto b = ReadFileBytes(p, int64_t{64} << 20);
      (void)b;
    }
    AnalyzerOptions opt;
    opt.model_dir = model_dir;
    opt.engine = g_engine;
    for (int threads : thread_runs) {
      std::printf("end to end: %zu photos on %d pipeline%s ...\n", paths.size(), threads, threads == 1 ? "" : "s");
      std::fflush(stdout);
      EndToEnd e;
      if (!RunEndToEnd(opt, paths, threads, &e, &err)) {
        std::fprintf(stderr, "lineup_bench_pipeline: %s\n", err.c_str());
        return 1;
      }
      runs.push_back(std::move(e));
    }
    PrintEndToEnd(runs);
    json arr = json::array();
    for (const auto& e : runs) arr.push_back(EndToEndJson(e));
    report["end_to_end"] = arr;
    report["end_to_end_notes"] =
        "stages_cpu_ms_per_photo: StageTimes summed over workers / photos (decode includes the file read); "
        "with more than one worker each network runs on 1 OpenCV thread, with one worker on the default. "
        "photos_per_s: photos / wall clock of AnalyzeFiles, including model load (setup_ms) and first runs.";
  }

  // Single-pipeline latencies.
  if (!flags.Has("--skip-micro")) {
    Fixture fx;
    if (!MakeFixture(data, model_dir, paths.front(), &fx, &err)) {
      std::fprintf(stderr, "lineup_bench_pipeline: %s\n", err.c_str());
      return 1;
    }
    g_fx = &fx;
    std::printf("\nsingle-pipeline latencies: %s (face %.0fx%.0f), %s scaled to 4000x3000 "
                "(%d faces pyramid, %d single)\n",
                fx.lfw_path.c_str(), fx.box.width, fx.box.height, fx.big_source.c_str(), fx.big_faces_pyramid,
                fx.big_faces_single);
    std::printf("(a Google Benchmark warning that the library \"was built as DEBUG\" is about the installed\n"
                "libbenchmark package itself, not Lineup, which is built %s)\n", LINEUP_BENCH_BUILD_TYPE);
    std::fflush(stdout);
    RegisterMicro(min_time, reps);
    Collector collector;
    auto load_before = LoadAverages();
    benchmark::RunSpecifiedBenchmarks(&collector, flags.Get("--micro-filter", "."));
    auto load_after = LoadAverages();
    benchmark::ClearRegisteredBenchmarks();
    auto results = collector.Results();
    PrintMicro(results);
    std::printf("load average before %s, after %s\n", LoadString(load_before).c_str(), LoadString(load_after).c_str());
    report["micro"] = MicroJson(results);
    report["micro_setup"] = {
        {"lfw_photo", fx.lfw_path},
        {"lfw_face_box", {fx.box.x, fx.box.y, fx.box.width, fx.box.height}},
        {"big_photo", "groups/insightface_t1.jpg scaled to cover 4000x3000, centre crop; decode from JPEG q90"},
        {"big_faces_pyramid", fx.big_faces_pyramid},
        {"big_faces_single", fx.big_faces_single},
        {"landmark_net_runs_per_face", fx.landmark_runs},
        {"min_time_s", min_time},
        {"repetitions", reps},
        {"load_before", {load_before[0], load_before[1], load_before[2]}},
        {"load_after", {load_after[0], load_after[1], load_after[2]}},
        {"notes",
         "median wall-clock ms per call over repetitions; Decode from bytes in memory; Landmarks as the "
         "pipeline's defaults make it (see landmark_net_runs_per_face); Analyze = detect+landmarks+align+quality+embed of every face, no decode; "
         "Detect pyramid 4000x3000 runs 1 iteration per repetition"}};
    g_fx = nullptr;
  }
  benchmark::Shutdown();

  report["load_average_end"] = [] {
    auto l = LoadAverages();
    return json{l[0], l[1], l[2]};
  }();
  return FinishJson(flags, report, "lineup_bench_pipeline");
}

}  // namespace
}  // namespace lineup::bench

int main(int argc, char** argv) { return lineup::bench::Main(argc, argv); }
