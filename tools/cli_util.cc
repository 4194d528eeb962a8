#include "cli_util.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <iostream>

namespace lineup::cli {

int ExitCodeFor(const Status& s) {
  if (s.ok()) return kExitOk;
  if (s.code() == Status::Code::kNoFace) return kExitNo;
  return kExitBad;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "lineup: %s\n", s.message().c_str());
  return ExitCodeFor(s);
}

int Usage(const std::string& text) {
  std::fprintf(stderr, "%s", text.c_str());
  return kExitBad;
}

std::string Args::Get(const std::string& k, const std::string& def) const {
  auto it = values.find(k);
  return it == values.end() ? def : it->second;
}

Result<double> Args::GetDouble(const std::string& k, double def, double lo, double hi) const {
  auto it = values.find(k);
  if (it == values.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end || !(v >= lo && v <= hi))
    return Status::InvalidArgument(k + " needs a number from " + Fmt("%g", lo) + " to " + Fmt("%g", hi) + ", not \"" +
                                   it->second + "\"");
  return v;
}

Result<int> Args::GetInt(const std::string& k, int def, int lo, int hi) const {
  auto v = GetDouble(k, def, lo, hi);
  if (!v.ok()) return v.status();
  if (*v != std::floor(*v)) return Status::InvalidArgument(k + " needs a whole number");
  return static_cast<int>(*v);
}

Result<Args> ParseArgs(int argc, char** argv, int start, std::set<std::string> valued, std::set<std::string> boolean) {
  for (const char* k : {"--models", "--detector", "--embedder", "--min-face", "--threads", "--max-pixels",
                        "--landmarks", "--min-photo-confidence"})
    valued.insert(k);
  Args a;
  bool only_positional = false;
  for (int i = start; i < argc; ++i) {
    std::string s = argv[i];
    if (only_positional || s.size() < 2 || s[0] != '-' || s == "-") {
      a.positional.push_back(s);
      continue;
    }
    if (s == "--") { only_positional = true; continue; }
    std::string key = s, value;
    bool has_eq = false;
    if (auto eq = s.find('='); eq != std::string::npos) { key = s.substr(0, eq); value = s.substr(eq + 1); has_eq = true; }
    if (valued.count(key)) {
      if (!has_eq) {
        if (i + 1 >= argc) return Status::InvalidArgument(key + " needs a value");
        value = argv[++i];
      }
      a.values[key] = value;
    } else if (boolean.count(key) && !has_eq) {
      a.flags.insert(key);
    } else {
      return Status::InvalidArgument("unknown option " + key);
    }
  }
  return a;
}

Result<AnalyzerOptions> AnalyzerOptionsFrom(const Args& a) {
  AnalyzerOptions o;
  o.model_dir = a.Get("--models");
  o.detector = a.Get("--detector", "pyramid");
  o.embedder = a.Get("--embedder");
  const std::string lm = a.Get("--landmarks", "single");
  if (lm != "refined" && lm != "single" && lm != "refined+mirror" && lm != "single+mirror")
    return Status::InvalidArgument("--landmarks must be refined, single, refined+mirror or single+mirror");
  o.refine_landmarks = lm.rfind("refined", 0) == 0;
  o.mirror_landmarks = lm.find("+mirror") != std::string::npos;
  auto mf = a.GetDouble("--min-face", o.detector_options.min_face, 8, 10000);
  if (!mf.ok()) return mf.status();
  o.detector_options.min_face = static_cast<float>(*mf);
  auto mc = a.GetDouble("--min-photo-confidence", o.photo_min_confidence, 0, 1);
  if (!mc.ok()) return mc.status();
  o.photo_min_confidence = static_cast<float>(*mc);
  auto mp = a.GetDouble("--max-pixels", static_cast<double>(o.decode.max_pixels), 1, 1e10);
  if (!mp.ok()) return mp.status();
  o.decode.max_pixels = static_cast<int64_t>(*mp);
  return o;
}

void Table::Print(FILE* out) const {
  std::vector<size_t> w;
  for (const auto& r : rows_)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (size_t k = 0; k < rows_.size(); ++k) {
    std::string line;
    for (size_t i = 0; i < rows_[k].size(); ++i) {
      line += rows_[k][i];
      if (i + 1 < rows_[k].size()) line += std::string(w[i] - rows_[k][i].size() + 2, ' ');
    }
    std::fprintf(out, "%s\n", line.c_str());
    if (k == 0) {
      size_t total = 0;
      for (size_t i = 0; i < w.size(); ++i) total += w[i] + (i + 1 < w.size() ? 2 : 0);
      std::fprintf(out, "%s\n", std::string(total, '-').c_str());
    }
  }
}

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

Progress::Progress(std::string what, size_t total)
    : what_(std::move(what)), total_(total), tty_(isatty(2) != 0), start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::Tick(size_t done, const std::string& extra) {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? done / secs : 0;
  double eta = rate > 0 ? (total_ - done) / rate : 0;
  int width = 30, filled = total_ ? static_cast<int>(width * done / total_) : width;
  std::fprintf(stderr, "\r[%s%s] %zu/%zu %s%s  %.1f/s  ETA %d:%02d ", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done, total_, what_.c_str(), extra.c_str(), rate, int(eta) / 60,
               int(eta) % 60);
  std::fflush(stderr);
}

void Progress::Finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

nlohmann::json FaceJson(const Face& f) {
  nlohmann::json j;
  j["box"] = BoxJson(f.box);
  j["confidence"] = std::round(f.confidence * 1000) / 1000;
  j["landmarks"] = nlohmann::json::array();
  for (const auto& p : f.five) j["landmarks"].push_back({std::round(p.x * 10) / 10, std::round(p.y * 10) / 10});
  j["quality"] = std::round(f.quality.score * 1000) / 1000;
  j["quality_reasons"] = f.quality.reasons;
  j["quality_detail"] = {{"size", f.quality.size},       {"sharpness", f.quality.sharpness},
                         {"pose", f.quality.pose},       {"confidence", f.quality.confidence},
                         {"face_height_px", f.quality.face_height_px}, {"laplacian_var", f.quality.laplacian_var},
                         {"yaw_deg", f.quality.yaw_deg}, {"pitch_deg", f.quality.pitch_deg}};
  return j;
}

nlohmann::json BoxJson(const cv::Rect2f& b) {
  return {std::lround(b.x), std::lround(b.y), std::lround(b.width), std::lround(b.height)};
}

std::string BoxText(const cv::Rect2f& b) {
  return Fmt("%.0f", b.x) + "," + Fmt("%.0f", b.y) + "," + Fmt("%.0f", b.width) + "," + Fmt("%.0f", b.height);
}

Result<ChosenFace> AnalyzeAndChoose(FaceAnalyzer& analyzer, const std::string& path, int wanted) {
  ChosenFace c;
  c.photo = analyzer.AnalyzeFile(path, true);
  if (!c.photo.status.ok()) return c.photo.status;
  const int n = static_cast<int>(c.photo.faces.size());
  if (n == 0)
    return Status::NoFace(path + ": " + NoFaceMessage(c.photo.set_aside, analyzer.Options().photo_min_confidence));
  if (wanted > n)
    return Status::InvalidArgument(path + ": has " + std::to_string(n) + " face(s), no face #" + std::to_string(wanted));
  c.index = wanted > 0 ? wanted - 1 : PickFace(c.photo.faces, {c.photo.width, c.photo.height}, FacePick::kLargest);
  return c;
}

std::string Reasons(const Quality& q) {
  std::string s;
  for (const auto& r : q.reasons) s += (s.empty() ? "" : ", ") + r;
  return s.empty() ? "-" : s;
}

}  // namespace lineup::cli

namespace lineup::cli {

Result<EmbeddedPhotos> EmbedPhotos(const AnalyzerOptions& options, const std::vector<std::string>& paths, int threads,
                                   FacePick pick) {
  EmbeddedPhotos out;
  {
    auto probe = FaceAnalyzer::Create(options);
    if (!probe.ok()) return probe.status();
    out.model_id = (*probe)->Model().Id();
  }
  out.vectors.resize(paths.size());
  out.quality.assign(paths.size(), 0);
  Progress progress("photos", paths.size());
  size_t done = 0;
  int shown = 0;
  Status s = AnalyzeFiles(options, paths, true, threads, [&](size_t i, PhotoAnalysis&& r) {
    progress.Tick(++done);
    int k = r.status.ok() ? PickFace(r.faces, {r.width, r.height}, pick) : -1;
    if (k < 0) {
      ++out.failures;
      if (shown++ < 5)
        std::fprintf(stderr, "\nlineup: %s\n",
                     r.status.ok() ? (r.path + ": " + NoFaceMessage(r.set_aside, options.photo_min_confidence)).c_str()
                                   : r.status.message().c_str());
      return;
    }
    out.vectors[i] = std::move(r.faces[static_cast<size_t>(k)].embedding);
    out.quality[i] = r.faces[static_cast<size_t>(k)].quality.score;
  }, &out.times);
  progress.Finish();
  if (!s.ok()) return s;
  return out;
}

}  // namespace lineup::cli
