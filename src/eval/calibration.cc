#include "lineup/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <iterator>

#include <nlohmann/json.hpp>

#include "lineup/models.h"

namespace lineup {

int HistogramBin(float s) {
  int b = static_cast<int>(std::floor((s + 1.0f) * 0.5f * kHistogramBins));
  return std::clamp(b, 0, kHistogramBins - 1);
}
float HistogramBinLow(int bin) { return -1.0f + 2.0f * bin / kHistogramBins; }

Calibration Calibration::FromHistograms(const std::vector<int64_t>& imp, const std::vector<int64_t>& gen) {
  Calibration c;
  for (auto v : imp) c.impostor_comparisons += v;
  for (auto v : gen) c.genuine_comparisons += v;
  // FMR targets 10^(-k/4), from 1e-1 down to what was measured.
  std::vector<int64_t> imp_above(kHistogramBins + 1, 0), gen_above(kHistogramBins + 1, 0);
  for (int b = kHistogramBins - 1; b >= 0; --b) {
    imp_above[b] = imp_above[b + 1] + imp[static_cast<size_t>(b)];
    gen_above[b] = gen_above[b + 1] + gen[static_cast<size_t>(b)];
  }
  for (int k = 4; k <= 40; ++k) {
    double fmr = std::pow(10.0, -k / 4.0);
    if (fmr * c.impostor_comparisons < 10) break;  // fewer than 10 impostors above: not a measurement
    // The lowest bin edge whose share of impostors at or above it is <= fmr.
    int b = kHistogramBins;
    while (b > 0 && imp_above[b - 1] <= fmr * c.impostor_comparisons) --b;
    c.points.push_back({fmr, HistogramBinLow(std::min(b, kHistogramBins - 1))});
    c.tmr.push_back(c.genuine_comparisons ? double(gen_above[std::min(b, kHistogramBins)]) / c.genuine_comparisons : 0);
  }
  return c;
}

Result<float> Calibration::ThresholdFor(double fmr) const {
  if (!(fmr > 0 && fmr < 1)) return Status::InvalidArgument("false-match rate must be between 0 and 1");
  if (points.empty()) return Status::Corrupt("calibration has no points");
  if (fmr >= points.front().first) return points.front().second;
  for (size_t i = 1; i < points.size(); ++i) {
    if (fmr >= points[i].first) {
      double a = std::log(points[i - 1].first), b = std::log(points[i].first), t = (std::log(fmr) - a) / (b - a);
      return static_cast<float>(points[i - 1].second + t * (points[i].second - points[i - 1].second));
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0e", points.back().first);
  return Status::InvalidArgument("false-match rate below the lowest calibrated (" + std::string(buf) + ")");
}

double FpirOf(double fmr, int64_t gallery_size) {
  const double n = static_cast<double>(std::max<int64_t>(gallery_size, 1));
  return -std::expm1(n * std::log1p(-std::clamp(fmr, 0.0, 1.0 - 1e-12)));
}

std::string SearchThreshold::Describe() const {
  auto percent = [](double p) {
    char b[32];
    if (p >= 0.1) std::snprintf(b, sizeof b, "%.0f%%", p * 100);
    else if (p >= 0.001) std::snprintf(b, sizeof b, "%.2g%%", p * 100);
    else std::snprintf(b, sizeof b, "1 in %.0f", 1 / p);
    return std::string(b);
  };
  const std::string digits = std::to_string(gallery_size);
  std::string n;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) n += ',';
    n += digits[i];
  }
  char buf[256];
  if (target_fpir > 0 && !beyond_calibration) {
    std::snprintf(buf, sizeof buf, "threshold %.4f: FPIR %s for a search of %s faces (FMR %.1e per comparison)", threshold,
                  percent(fpir).c_str(), n.c_str(), fmr);
  } else if (target_fpir > 0) {
    std::snprintf(buf, sizeof buf,
                  "threshold %.4f, the most conservative calibrated: FPIR %s for a search of %s faces, above the %s "
                  "asked for (the calibration measured FMR down to %.1e per comparison; %.1e was needed)",
                  threshold, percent(fpir).c_str(), n.c_str(), percent(target_fpir).c_str(), fmr,
                  1 - std::pow(1 - target_fpir, 1.0 / static_cast<double>(std::max<int64_t>(gallery_size, 1))));
  } else {
    std::snprintf(buf, sizeof buf, "threshold %.4f: FMR %.1e per comparison, FPIR %s for a search of %s faces", threshold,
                  fmr, percent(fpir).c_str(), n.c_str());
  }
  return buf;
}

double Calibration::FpirAt(float score, int64_t gallery_size) const { return FpirOf(FmrAt(score), gallery_size); }

Result<SearchThreshold> Calibration::ForSearch(double fpir, int64_t gallery_size) const {
  if (!(fpir > 0 && fpir < 1)) return Status::InvalidArgument("a target FPIR must be between 0 and 1");
  if (points.empty()) return Status::Corrupt("calibration has no points");
  SearchThreshold t;
  t.target_fpir = fpir;
  t.gallery_size = std::max<int64_t>(gallery_size, 0);
  // 1 - (1 - fpir)^(1/N), written to keep its precision for large N.
  const double n = static_cast<double>(std::max<int64_t>(gallery_size, 1));
  const double fmr = -std::expm1(std::log1p(-fpir) / n);
  if (fmr < points.back().first) {
    t.beyond_calibration = true;
    t.fmr = points.back().first;
    t.threshold = points.back().second;
  } else {
    auto th = ThresholdFor(fmr);
    if (!th.ok()) return th.status();
    t.fmr = fmr;
    t.threshold = *th;
  }
  t.fpir = FpirOf(t.fmr, gallery_size);
  return t;
}

Result<SearchThreshold> Calibration::ForComparison(double fmr, int64_t gallery_size) const {
  auto th = ThresholdFor(fmr);
  if (!th.ok()) return th.status();
  SearchThreshold t;
  t.fmr = fmr;
  t.threshold = *th;
  t.gallery_size = std::max<int64_t>(gallery_size, 0);
  t.fpir = FpirOf(fmr, gallery_size);
  return t;
}

double Calibration::FmrAt(float score) const {
  if (points.empty()) return 1.0;
  if (score <= points.front().second) {
    // Above FMR 0.1 the exact shape hardly matters for a lead's ranking: interpolate to 1 at score -1.
    double t = (score + 1.0) / (points.front().second + 1.0);
    return std::exp(std::log(points.front().first) * std::clamp(t, 0.0, 1.0));
  }
  for (size_t i = 1; i < points.size(); ++i) {
    if (score <= points[i].second) {
      float lo = points[i - 1].second, hi = points[i].second;
      double t = hi > lo ? (score - lo) / (hi - lo) : 1.0;
      return std::exp(std::log(points[i - 1].first) + t * (std::log(points[i].first) - std::log(points[i - 1].first)));
    }
  }
  return points.back().first;  // an upper bound: lower rates were not measured
}

Status Calibration::Save(const std::string& path) const {
  nlohmann::json j;
  j["model"] = model_id;
  j["dataset"] = dataset;
  j["command"] = command;
  j["impostor_comparisons"] = impostor_comparisons;
  j["genuine_comparisons"] = genuine_comparisons;
  j["points"] = nlohmann::json::array();
  for (size_t i = 0; i < points.size(); ++i)
    j["points"].push_back({{"fmr", points[i].first}, {"threshold", points[i].second}, {"tmr", tmr[i]}});
  std::ofstream out(path + ".tmp");
  out << j.dump(2) << "\n";
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0) return Status::IOError(path + ": cannot write");
  return Status::OK();
}

Result<Calibration> Calibration::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("calibration file " + path + " is missing; `make calibrate` regenerates it");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    Calibration c;
    c.model_id = j.at("model").get<std::string>();
    c.dataset = j.at("dataset").get<std::string>();
    c.command = j.value("command", "");
    c.sha256 = Sha256Hex(text);
    c.impostor_comparisons = j.at("impostor_comparisons").get<int64_t>();
    c.genuine_comparisons = j.at("genuine_comparisons").get<int64_t>();
    for (const auto& p : j.at("points")) {
      c.points.push_back({p.at("fmr").get<double>(), p.at("threshold").get<float>()});
      c.tmr.push_back(p.value("tmr", 0.0));
    }
    for (size_t i = 1; i < c.points.size(); ++i)
      if (!(c.points[i].first < c.points[i - 1].first) || c.points[i].second < c.points[i - 1].second)
        return Status::Corrupt(path + ": calibration points out of order");
    if (c.points.empty() || c.impostor_comparisons <= 0) return Status::Corrupt(path + ": calibration is empty");
    return c;
  } catch (const std::exception& e) {
    return Status::Corrupt(path + ": not a calibration file (" + e.what() + ")");
  }
}

std::string Calibration::PathFor(const EmbeddingModel& model) {
  std::string dir = LINEUP_SOURCE_DIR "/calibration";
  if (const char* env = std::getenv("LINEUP_CALIBRATION"); env && *env) dir = env;
  std::string id = model.Id();
  std::replace(id.begin(), id.end(), '/', '_');
  std::replace(id.begin(), id.end(), '@', '-');
  return dir + "/" + id + ".json";
}

Result<Calibration> Calibration::ForModel(const EmbeddingModel& model) {
  auto c = Load(PathFor(model));
  if (!c.ok()) return c;
  if (c->model_id != model.Id())
    return Status::Corrupt(PathFor(model) + " calibrates " + c->model_id + ", not " + model.Id());
  return c;
}

}  // namespace lineup
